-- Everything since $2 that the endpoint wants and has not had, due at $3: its messages
-- that failed for good start a new round, and events it has no message for (written
-- while it was paused or disabled, or before it wanted them) get one. Delivered and
-- pending messages are left as they are. The number of messages due.
WITH again AS (
    UPDATE webhook_messages
    SET status = 'pending', next_attempt_at = $3, round_start = attempts
    WHERE endpoint_id = $1 AND status = 'failed' AND created_at >= $2
    RETURNING event_id
), missing AS (
    INSERT INTO webhook_messages (endpoint_id, event_id, next_attempt_at, created_at)
    SELECT ep.id, ev.id, $3, ev.created_at
    FROM webhook_endpoints ep
    JOIN webhook_events ev
      ON ev.created_at >= $2
     AND (cardinality(ep.event_types) = 0 OR ev.event_type = ANY (ep.event_types))
     AND (ev.shop_id IS NULL OR cardinality(ep.shop_ids) = 0 OR ev.shop_id = ANY (ep.shop_ids))
    WHERE ep.id = $1
    ON CONFLICT DO NOTHING
    RETURNING event_id
)
SELECT (SELECT count(*) FROM again) + (SELECT count(*) FROM missing)
