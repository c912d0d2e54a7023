SELECT DISTINCT m.shop_id
FROM (SELECT unnest(shop_ids) AS shop_id FROM dirty_marks) m
WHERE NOT EXISTS (SELECT 1 FROM shop_figures f WHERE f.shop_id = m.shop_id AND f.as_of > $1)
ORDER BY 1
