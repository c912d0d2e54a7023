SELECT id, url, event_types, shop_ids, description, enabled, disabled_reason,
       previous_until, created_at, updated_at
FROM webhook_endpoints WHERE id = $1
