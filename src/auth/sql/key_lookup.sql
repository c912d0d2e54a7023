SELECT role, shops, secret_hash, last_used_at FROM api_keys
WHERE id = $1 AND revoked_at IS NULL
