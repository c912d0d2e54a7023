INSERT INTO api_keys (id, name, role, shops, secret_hash) VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, role, shops, created_at, last_used_at, revoked_at
