SELECT id, name, role, shops, 'ssk_' || id || '_…' || COALESCE(secret_last4, '') AS masked,
       created_at, last_used_at, expires_at, rotated_at, previous_valid_until, revoked_at,
       rate_limit_per_minute
FROM api_keys
WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1, $2)
ORDER BY created_at, id
LIMIT $3
