-- Every known shop with its first event (NULL before any), in id order.
SELECT s.shop_id, s.industry, f.first_event_at
FROM shops s LEFT JOIN shop_first_event f USING (shop_id)
ORDER BY s.shop_id
