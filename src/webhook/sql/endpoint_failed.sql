-- An attempt failed: since when the endpoint has been failing (this attempt, if it
-- was not already), and whether it is still enabled.
UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2)
WHERE id = $1
RETURNING failing_since, enabled
