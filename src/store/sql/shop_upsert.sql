-- Registers a shop or changes its name, industry and platform, and marks it dirty (its
-- card changes with its industry). Returns the shop as `shop_get.sql` reads it.
WITH upsert AS (
    INSERT INTO shops (shop_id, name, industry, platform) VALUES ($1, $2, $3, $4)
    ON CONFLICT (shop_id) DO UPDATE
        SET name = excluded.name, industry = excluded.industry, platform = excluded.platform
    RETURNING shop_id, name, industry, platform, created_at,
        (SELECT f.first_event_at FROM shop_first_event f WHERE f.shop_id = shops.shop_id)
            AS first_event_at),
mark AS (INSERT INTO dirty_marks (shop_ids) SELECT ARRAY[shop_id] FROM upsert)
SELECT * FROM upsert
