-- Entity projections, fed from the temporary table `new_events` (the shape of `events`):
-- ingest fills it with the events a request just inserted; `shopscore rebuild` with
-- every stored event, chunk by chunk. Each statement folds
-- the events into the projection so that the result depends only on the set of events,
-- never on arrival order: "earliest wins" columns keep the smallest (occurred_at,
-- event_id); kinds where every event counts keep a row per event.
-- Statements are separated by lines holding only `-- @@`.

INSERT INTO shops (shop_id, first_event_at, dirty_since)
SELECT e.shop_id, min(e.occurred_at), now()
FROM new_events e
GROUP BY e.shop_id
ON CONFLICT (shop_id) DO UPDATE
SET first_event_at = LEAST(shops.first_event_at, excluded.first_event_at),
    dirty_since = COALESCE(shops.dirty_since, excluded.dirty_since)
-- @@
INSERT INTO orders AS o (shop_id, order_id, created_at, created_eid, buyer_id, amount_cents, currency, item_id)
SELECT DISTINCT ON (e.shop_id, e.data->>'order_id')
       e.shop_id, e.data->>'order_id', e.occurred_at, e.event_id, e.data->>'buyer_id',
       (e.data->>'amount_cents')::bigint, COALESCE(e.data->>'currency', 'CNY'), e.data->>'item_id'
FROM new_events e
WHERE e.type = 'order.created'
ORDER BY e.shop_id, e.data->>'order_id', e.occurred_at, e.event_id
ON CONFLICT (shop_id, order_id) DO UPDATE
SET created_at = excluded.created_at, created_eid = excluded.created_eid, buyer_id = excluded.buyer_id,
    amount_cents = excluded.amount_cents, currency = excluded.currency, item_id = excluded.item_id
WHERE o.created_at IS NULL OR (excluded.created_at, excluded.created_eid) < (o.created_at, o.created_eid)
-- @@
INSERT INTO orders AS o (shop_id, order_id, paid_at)
SELECT e.shop_id, e.data->>'order_id', min(e.occurred_at)
FROM new_events e
WHERE e.type = 'order.paid' GROUP BY 1, 2
ON CONFLICT (shop_id, order_id) DO UPDATE SET paid_at = excluded.paid_at
WHERE o.paid_at IS NULL OR excluded.paid_at < o.paid_at
-- @@
INSERT INTO orders AS o (shop_id, order_id, shipped_at)
SELECT e.shop_id, e.data->>'order_id', min(e.occurred_at)
FROM new_events e
WHERE e.type = 'order.shipped' GROUP BY 1, 2
ON CONFLICT (shop_id, order_id) DO UPDATE SET shipped_at = excluded.shipped_at
WHERE o.shipped_at IS NULL OR excluded.shipped_at < o.shipped_at
-- @@
INSERT INTO orders AS o (shop_id, order_id, delivered_at)
SELECT e.shop_id, e.data->>'order_id', min(e.occurred_at)
FROM new_events e
WHERE e.type = 'order.delivered' GROUP BY 1, 2
ON CONFLICT (shop_id, order_id) DO UPDATE SET delivered_at = excluded.delivered_at
WHERE o.delivered_at IS NULL OR excluded.delivered_at < o.delivered_at
-- @@
INSERT INTO orders AS o (shop_id, order_id, cancelled_at, cancelled_eid, cancel_initiator)
SELECT DISTINCT ON (e.shop_id, e.data->>'order_id')
       e.shop_id, e.data->>'order_id', e.occurred_at, e.event_id, e.data->>'initiator'
FROM new_events e
WHERE e.type = 'order.cancelled'
ORDER BY e.shop_id, e.data->>'order_id', e.occurred_at, e.event_id
ON CONFLICT (shop_id, order_id) DO UPDATE
SET cancelled_at = excluded.cancelled_at, cancelled_eid = excluded.cancelled_eid,
    cancel_initiator = excluded.cancel_initiator
WHERE o.cancelled_at IS NULL OR (excluded.cancelled_at, excluded.cancelled_eid) < (o.cancelled_at, o.cancelled_eid)
-- @@
INSERT INTO reviews (shop_id, order_id, event_id, occurred_at, buyer_id, rating,
                     dsr_description, dsr_service, dsr_logistics)
SELECT e.shop_id, e.data->>'order_id', e.event_id, e.occurred_at, e.data->>'buyer_id',
       CASE e.data->>'rating' WHEN 'positive' THEN 1 WHEN 'negative' THEN -1 ELSE 0 END,
       (e.data->'dsr'->>'description')::smallint, (e.data->'dsr'->>'service')::smallint,
       (e.data->'dsr'->>'logistics')::smallint
FROM new_events e
WHERE e.type = 'order.reviewed'
ON CONFLICT DO NOTHING
-- @@
INSERT INTO refunds AS r (shop_id, refund_id, requested_at, requested_eid, order_id, reason, amount_cents)
SELECT DISTINCT ON (e.shop_id, e.data->>'refund_id')
       e.shop_id, e.data->>'refund_id', e.occurred_at, e.event_id, e.data->>'order_id',
       e.data->>'reason', (e.data->>'amount_cents')::bigint
FROM new_events e
WHERE e.type = 'refund.requested'
ORDER BY e.shop_id, e.data->>'refund_id', e.occurred_at, e.event_id
ON CONFLICT (shop_id, refund_id) DO UPDATE
SET requested_at = excluded.requested_at, requested_eid = excluded.requested_eid,
    order_id = excluded.order_id, reason = excluded.reason, amount_cents = excluded.amount_cents
WHERE r.requested_at IS NULL OR (excluded.requested_at, excluded.requested_eid) < (r.requested_at, r.requested_eid)
-- @@
INSERT INTO refunds AS r (shop_id, refund_id, completed_at)
SELECT e.shop_id, e.data->>'refund_id', min(e.occurred_at)
FROM new_events e
WHERE e.type = 'refund.completed' GROUP BY 1, 2
ON CONFLICT (shop_id, refund_id) DO UPDATE SET completed_at = excluded.completed_at
WHERE r.completed_at IS NULL OR excluded.completed_at < r.completed_at
-- @@
INSERT INTO refunds AS r (shop_id, refund_id, rejected_at)
SELECT e.shop_id, e.data->>'refund_id', min(e.occurred_at)
FROM new_events e
WHERE e.type = 'refund.rejected' GROUP BY 1, 2
ON CONFLICT (shop_id, refund_id) DO UPDATE SET rejected_at = excluded.rejected_at
WHERE r.rejected_at IS NULL OR excluded.rejected_at < r.rejected_at
-- @@
INSERT INTO chat_messages (shop_id, conversation_id, event_id, occurred_at, sender, agent_id)
SELECT e.shop_id, e.data->>'conversation_id', e.event_id, e.occurred_at, e.data->>'sender', e.data->>'agent_id'
FROM new_events e
WHERE e.type = 'chat.message'
ON CONFLICT DO NOTHING
-- @@
INSERT INTO chat_ratings (shop_id, conversation_id, event_id, occurred_at, satisfaction)
SELECT e.shop_id, e.data->>'conversation_id', e.event_id, e.occurred_at, e.data->>'satisfaction'
FROM new_events e
WHERE e.type = 'chat.rated'
ON CONFLICT DO NOTHING
-- @@
INSERT INTO agent_status (shop_id, agent_id, event_id, occurred_at, online)
SELECT e.shop_id, e.data->>'agent_id', e.event_id, e.occurred_at, e.data->>'status' = 'online'
FROM new_events e
WHERE e.type = 'agent.status'
ON CONFLICT DO NOTHING
-- @@
INSERT INTO complaints AS c (shop_id, complaint_id, opened_at, opened_eid, category, order_id)
SELECT DISTINCT ON (e.shop_id, e.data->>'complaint_id')
       e.shop_id, e.data->>'complaint_id', e.occurred_at, e.event_id, e.data->>'category', e.data->>'order_id'
FROM new_events e
WHERE e.type = 'complaint.opened'
ORDER BY e.shop_id, e.data->>'complaint_id', e.occurred_at, e.event_id
ON CONFLICT (shop_id, complaint_id) DO UPDATE
SET opened_at = excluded.opened_at, opened_eid = excluded.opened_eid,
    category = excluded.category, order_id = excluded.order_id
WHERE c.opened_at IS NULL OR (excluded.opened_at, excluded.opened_eid) < (c.opened_at, c.opened_eid)
-- @@
INSERT INTO complaints AS c (shop_id, complaint_id, accepted_at)
SELECT e.shop_id, e.data->>'complaint_id', min(e.occurred_at)
FROM new_events e
WHERE e.type = 'complaint.accepted' GROUP BY 1, 2
ON CONFLICT (shop_id, complaint_id) DO UPDATE SET accepted_at = excluded.accepted_at
WHERE c.accepted_at IS NULL OR excluded.accepted_at < c.accepted_at
-- @@
INSERT INTO complaint_followups (shop_id, complaint_id, event_id, occurred_at)
SELECT e.shop_id, e.data->>'complaint_id', e.event_id, e.occurred_at
FROM new_events e
WHERE e.type = 'complaint.followed_up'
ON CONFLICT DO NOTHING
-- @@
INSERT INTO complaints AS c (shop_id, complaint_id, first_followup_at)
SELECT e.shop_id, e.data->>'complaint_id', min(e.occurred_at)
FROM new_events e
WHERE e.type = 'complaint.followed_up' GROUP BY 1, 2
ON CONFLICT (shop_id, complaint_id) DO UPDATE SET first_followup_at = excluded.first_followup_at
WHERE c.first_followup_at IS NULL OR excluded.first_followup_at < c.first_followup_at
-- @@
INSERT INTO complaints AS c (shop_id, complaint_id, resolved_at, resolved_eid, outcome, ruled_against)
SELECT DISTINCT ON (e.shop_id, e.data->>'complaint_id')
       e.shop_id, e.data->>'complaint_id', e.occurred_at, e.event_id, e.data->>'outcome',
       COALESCE((e.data->>'ruled_against_merchant')::boolean, false)
FROM new_events e
WHERE e.type = 'complaint.resolved'
ORDER BY e.shop_id, e.data->>'complaint_id', e.occurred_at, e.event_id
ON CONFLICT (shop_id, complaint_id) DO UPDATE
SET resolved_at = excluded.resolved_at, resolved_eid = excluded.resolved_eid,
    outcome = excluded.outcome, ruled_against = excluded.ruled_against
WHERE c.resolved_at IS NULL OR (excluded.resolved_at, excluded.resolved_eid) < (c.resolved_at, c.resolved_eid)
-- @@
INSERT INTO complaints AS c (shop_id, complaint_id, verified_at, verified_eid, conduct)
SELECT DISTINCT ON (e.shop_id, e.data->>'complaint_id')
       e.shop_id, e.data->>'complaint_id', e.occurred_at, e.event_id, e.data->>'conduct'
FROM new_events e
WHERE e.type = 'complaint.verified'
ORDER BY e.shop_id, e.data->>'complaint_id', e.occurred_at, e.event_id
ON CONFLICT (shop_id, complaint_id) DO UPDATE
SET verified_at = excluded.verified_at, verified_eid = excluded.verified_eid, conduct = excluded.conduct
WHERE c.verified_at IS NULL OR (excluded.verified_at, excluded.verified_eid) < (c.verified_at, c.verified_eid)
-- @@
INSERT INTO complaint_verifications (shop_id, complaint_id, event_id, occurred_at, conduct)
SELECT e.shop_id, e.data->>'complaint_id', e.event_id, e.occurred_at, e.data->>'conduct'
FROM new_events e
WHERE e.type = 'complaint.verified'
ON CONFLICT DO NOTHING
-- @@
INSERT INTO integrity_flags (shop_id, event_id, occurred_at, kind, note)
SELECT e.shop_id, e.event_id, e.occurred_at, e.data->>'kind', e.data->>'note'
FROM new_events e
WHERE e.type = 'integrity.flagged'
ON CONFLICT DO NOTHING
