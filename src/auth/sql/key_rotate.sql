-- A new secret for key $1 (hash $2, last four $3) at $4; the old one works until $5.
-- A revoked key is not rotated (no row).
UPDATE api_keys
SET previous_secret_hash = secret_hash, previous_valid_until = $5,
    secret_hash = $2, secret_last4 = $3, rotated_at = $4
WHERE id = $1 AND revoked_at IS NULL
RETURNING id, name, role, shops, 'ssk_' || id || '_…' || COALESCE(secret_last4, '') AS masked,
          created_at, last_used_at, expires_at, rotated_at, previous_valid_until, revoked_at,
          rate_limit_per_minute
