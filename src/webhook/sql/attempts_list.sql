-- A message's attempts, in the order they were made (a schedule makes ten; resends
-- add more, bounded here).
SELECT attempt, started_at, duration_ms, outcome, status_code, response
FROM webhook_attempts
WHERE endpoint_id = $1 AND event_id = $2
ORDER BY id
LIMIT 1000
