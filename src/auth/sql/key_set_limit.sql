-- Key $1's own request limit per minute ($2; null: the configured default).
UPDATE api_keys SET rate_limit_per_minute = $2 WHERE id = $1
RETURNING id, name, role, shops, 'ssk_' || id || '_…' || COALESCE(secret_last4, '') AS masked,
          created_at, last_used_at, expires_at, rotated_at, previous_valid_until, revoked_at,
          rate_limit_per_minute
