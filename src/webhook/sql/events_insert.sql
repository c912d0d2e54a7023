-- Events into the outbox (an event already there, found again by a re-run, is left as
-- it is), and a message for each enabled endpoint that wants it: its type (or every
-- type), its shop (or every shop; events about an endpoint have no shop).
WITH ev AS (
    INSERT INTO webhook_events (id, event_type, shop_id, as_of, run_id, payload, created_at)
    SELECT e.id, e.event_type, e.shop_id, $5, $6, e.payload, $7
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        AS e(id, event_type, shop_id, payload)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, event_type, shop_id, created_at
)
INSERT INTO webhook_messages (endpoint_id, event_id, next_attempt_at, created_at)
SELECT ep.id, ev.id, ev.created_at, ev.created_at
FROM ev
JOIN webhook_endpoints ep
  ON ep.enabled
 AND (cardinality(ep.event_types) = 0 OR ev.event_type = ANY (ep.event_types))
 AND (ev.shop_id IS NULL OR cardinality(ep.shop_ids) = 0 OR ev.shop_id = ANY (ep.shop_ids))
