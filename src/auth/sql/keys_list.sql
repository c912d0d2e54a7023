SELECT id, name, role, shops, created_at, last_used_at, revoked_at
FROM api_keys
WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1, $2)
ORDER BY created_at, id
LIMIT $3
