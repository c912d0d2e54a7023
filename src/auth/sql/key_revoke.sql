UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
RETURNING id, name, role, shops, created_at, last_used_at, revoked_at
