-- Each field given (not null) replaces the stored one; enabling clears the reason the
-- endpoint was disabled.
UPDATE webhook_endpoints SET
    url = coalesce($2, url),
    event_types = coalesce($3, event_types),
    shop_ids = coalesce($4, shop_ids),
    description = coalesce($5, description),
    enabled = coalesce($6, enabled),
    disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END,
    updated_at = $7
WHERE id = $1
RETURNING id, url, event_types, shop_ids, description, enabled, disabled_reason,
          previous_until, created_at, updated_at
