-- Registers shops (id, name, industry) that are not registered yet; a registered shop
-- is left as it is. Rows in key order, as every writer of `shops` takes them.
INSERT INTO shops (shop_id, name, industry)
SELECT id, name, industry
FROM unnest($1::text[], $2::text[], $3::text[]) AS r(id, name, industry)
ORDER BY id COLLATE "C"
ON CONFLICT (shop_id) DO NOTHING
