-- Sends a message again, due at $3, whatever became of it: a new round of the retry
-- schedule.
UPDATE webhook_messages
SET status = 'pending', next_attempt_at = $3, delivered_at = NULL, round_start = attempts
WHERE endpoint_id = $1 AND event_id = $2
RETURNING event_id
