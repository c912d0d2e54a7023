INSERT INTO api_keys (id, name, role, shops, secret_hash, secret_last4, expires_at, rate_limit_per_minute)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, name, role, shops, 'ssk_' || id || '_…' || COALESCE(secret_last4, '') AS masked,
          created_at, last_used_at, expires_at, rotated_at, previous_valid_until, revoked_at,
          rate_limit_per_minute
