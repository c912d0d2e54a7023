-- A delivery succeeded: the endpoint is not failing.
UPDATE webhook_endpoints SET failing_since = NULL
WHERE id = $1 AND failing_since IS NOT NULL
