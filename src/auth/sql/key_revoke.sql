UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
RETURNING id, name, role, shops, 'ssk_' || id || '_…' || COALESCE(secret_last4, '') AS masked,
          created_at, last_used_at, expires_at, rotated_at, previous_valid_until, revoked_at,
          rate_limit_per_minute
