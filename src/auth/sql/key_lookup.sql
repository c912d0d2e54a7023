-- Everything authenticating decides by, revoked keys included (so the caller can be
-- told why a key it holds no longer works).
SELECT role, shops, secret_hash, previous_secret_hash, previous_valid_until, rotated_at,
       expires_at, revoked_at, last_used_at, rate_limit_per_minute
FROM api_keys
WHERE id = $1
