SELECT DISTINCT id FROM unnest($1::text[]) AS id
WHERE NOT EXISTS (SELECT 1 FROM shops s WHERE s.shop_id = id)
ORDER BY 1
