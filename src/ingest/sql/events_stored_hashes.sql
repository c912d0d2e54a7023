SELECT e.shop_id, e.event_id, e.content_hash
FROM events e
JOIN unnest($1::text[], $2::text[]) AS k(shop_id, event_id) USING (shop_id, event_id)
