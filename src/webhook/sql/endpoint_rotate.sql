-- A new secret; the one it replaces keeps signing until $3.
UPDATE webhook_endpoints
SET previous_secret = secret, previous_until = $3, secret = $2, updated_at = $4
WHERE id = $1
RETURNING id, url, event_types, shop_ids, description, enabled, disabled_reason,
          previous_until, created_at, updated_at
