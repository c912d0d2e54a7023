-- The service disables an endpoint, saying why; nothing when it already is disabled.
UPDATE webhook_endpoints
SET enabled = false, disabled_reason = $2, updated_at = $3
WHERE id = $1 AND enabled
RETURNING id
