-- Events older than $1 that no message refers to any more (all delivered and pruned,
-- or no endpoint wanted them).
DELETE FROM webhook_events ev
WHERE ev.created_at < $1
  AND NOT EXISTS (SELECT 1 FROM webhook_messages m WHERE m.event_id = ev.id)
