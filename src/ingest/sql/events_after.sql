-- The next chunk of stored events after a key, as the source of the projections
-- (`rebuild`).
SELECT * FROM events WHERE (shop_id, event_id) > ($1, $2)
ORDER BY shop_id, event_id
LIMIT 10000
