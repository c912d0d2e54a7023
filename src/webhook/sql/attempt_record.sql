-- Records an attempt, and moves its message on: `delivered`, `failed`, or `pending`
-- again at its next due time. Only the latest claim moves it (`attempts` = this
-- attempt's number): a late answer to an attempt whose lease ran out is recorded but
-- changes nothing.
WITH attempt AS (
    INSERT INTO webhook_attempts
        (endpoint_id, event_id, attempt, started_at, duration_ms, outcome, status_code, response)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
)
UPDATE webhook_messages
SET status = $9,
    next_attempt_at = $10,
    delivered_at = CASE WHEN $9 = 'delivered' THEN $11::timestamptz END
WHERE endpoint_id = $1 AND event_id = $2 AND attempts = $3 AND status = 'pending'
