CREATE TEMP TABLE current_figures ON COMMIT DROP AS SELECT * FROM shop_figures WHERE false
