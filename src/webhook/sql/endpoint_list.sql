-- A page of endpoints in id order, after id $1 (null: from the first).
SELECT id, url, event_types, shop_ids, description, enabled, disabled_reason,
       previous_until, created_at, updated_at
FROM webhook_endpoints WHERE $1::text IS NULL OR id > $1
ORDER BY id LIMIT $2
