CREATE TEMP TABLE held_figures
    (shop_id text NOT NULL, industry text NOT NULL, figures text NOT NULL)
ON COMMIT DROP
