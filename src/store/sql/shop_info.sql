-- One shop with its first event (NULL before any), as a run scores it.
SELECT s.shop_id, s.industry, f.first_event_at
FROM shops s LEFT JOIN shop_first_event f USING (shop_id)
WHERE s.shop_id = $1
