-- Claims up to $2 messages due at $1 (enabled endpoints only): each claim counts its
-- attempt and moves the message's due time past the attempt's lease ($3 seconds), so no
-- other worker takes it meanwhile, and a worker that dies mid-attempt leaves it due
-- again when the lease runs out. SKIP LOCKED: replicas claiming at once take different
-- messages instead of waiting for each other.
WITH due AS (
    SELECT m.endpoint_id, m.event_id
    FROM webhook_messages m
    JOIN webhook_endpoints ep ON ep.id = m.endpoint_id AND ep.enabled
    WHERE m.status = 'pending' AND m.next_attempt_at <= $1
    ORDER BY m.next_attempt_at
    LIMIT $2
    FOR UPDATE OF m SKIP LOCKED
)
UPDATE webhook_messages m
SET attempts = m.attempts + 1,
    next_attempt_at = $1 + $3 * interval '1 second'
FROM due, webhook_events ev, webhook_endpoints ep
WHERE m.endpoint_id = due.endpoint_id AND m.event_id = due.event_id
  AND ev.id = m.event_id AND ep.id = m.endpoint_id
RETURNING m.endpoint_id, m.event_id, m.attempts, m.round_start, ev.payload, ev.created_at, ep.url,
          ep.secret, ep.previous_secret, ep.previous_until
