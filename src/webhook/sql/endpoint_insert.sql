INSERT INTO webhook_endpoints (id, url, event_types, shop_ids, description, secret,
                               created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
RETURNING id, url, event_types, shop_ids, description, enabled, disabled_reason,
          previous_until, created_at, updated_at
