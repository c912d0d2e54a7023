-- One message of an endpoint.
SELECT m.event_id, ev.event_type, ev.shop_id, m.status, m.attempts, m.next_attempt_at,
       m.created_at, m.delivered_at, ev.payload
FROM webhook_messages m
JOIN webhook_events ev ON ev.id = m.event_id
WHERE m.endpoint_id = $1 AND m.event_id = $2
