-- An endpoint's messages, newest first, after the cursor ($2, $3: the last one's
-- created_at and event id), of one status ($4) or all.
SELECT m.event_id, ev.event_type, ev.shop_id, m.status, m.attempts, m.next_attempt_at,
       m.created_at, m.delivered_at, ev.payload
FROM webhook_messages m
JOIN webhook_events ev ON ev.id = m.event_id
WHERE m.endpoint_id = $1
  AND ($4::text IS NULL OR m.status = $4)
  AND ($2::timestamptz IS NULL OR (m.created_at, m.event_id) < ($2, $3::text))
ORDER BY m.created_at DESC, m.event_id DESC
LIMIT $5
