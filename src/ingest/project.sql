-- Entity projections, fed from the temporary table `new_events` (the shape of `events`):
-- ingest fills it with the events a request just inserted; `shopscore rebuild` with
-- every stored event, chunk by chunk. Each statement folds the events into the
-- projection so that the result depends only on the set of events, never on arrival
-- order: "earliest wins" columns keep the smallest (occurred_at, event_id); kinds where
-- every event counts keep a row per event.
--
-- Concurrency (many producers at once). Deadlocks are impossible by construction:
--   * every row a statement may lock or wait for is taken in key order (`ORDER BY` the
--     conflict key);
--   * each such table is written by exactly one statement, and the statements run in
--     this file's order, after the events insert (itself in key order);
-- so every transaction takes its locks in one global order (events, shops,
-- shop_first_events, orders, refunds, complaints). The per-event tables are keyed by
-- the event itself, which this transaction alone inserted, so they never wait.
-- No statement updates a row that every batch of a shop would touch: a new shop is
-- inserted (`DO NOTHING` takes no lock on an existing row), and the first-event time
-- and the dirty mark (one row per batch) are appended rows. Statements that may wait
-- (a new shop or first-event time another batch is adding too; the rows of orders,
-- refunds and complaints that other batches share) come last, so their locks are held
-- only for the end of the transaction.
-- Statements are separated by lines holding only `-- @@`.

INSERT INTO dirty_marks (shop_ids)
SELECT array_agg(DISTINCT shop_id) FROM new_events
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
INSERT INTO complaint_followups (shop_id, complaint_id, event_id, occurred_at)
SELECT e.shop_id, e.data->>'complaint_id', e.event_id, e.occurred_at
FROM new_events e
WHERE e.type = 'complaint.followed_up'
ON CONFLICT DO NOTHING
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

-- @@
INSERT INTO shops (shop_id)
SELECT DISTINCT shop_id FROM new_events
ORDER BY shop_id
ON CONFLICT (shop_id) DO NOTHING
-- @@
INSERT INTO shop_first_events (shop_id, first_at)
SELECT n.shop_id, n.first_at
FROM (SELECT shop_id, min(occurred_at) AS first_at FROM new_events GROUP BY shop_id) n
WHERE NOT EXISTS (SELECT 1 FROM shop_first_events f WHERE f.shop_id = n.shop_id AND f.first_at <= n.first_at)
ORDER BY n.shop_id
ON CONFLICT DO NOTHING
-- @@
INSERT INTO orders AS o (shop_id, order_id, created_at, created_eid, buyer_id, amount_cents, currency,
                         item_id, paid_at, shipped_at, delivered_at, cancelled_at, cancelled_eid,
                         cancel_initiator)
SELECT shop_id, order_id, created_at, created_eid, created->>'buyer_id',
       (created->>'amount_cents')::bigint,
       CASE WHEN created IS NOT NULL THEN COALESCE(created->>'currency', 'CNY') END,
       created->>'item_id', paid_at, shipped_at, delivered_at, cancelled_at, cancelled_eid,
       cancelled->>'initiator'
FROM (
    SELECT shop_id, (data->>'order_id') COLLATE "C" AS order_id,
           min(occurred_at) FILTER (WHERE type = 'order.created') AS created_at,
           (array_agg(event_id ORDER BY occurred_at, event_id) FILTER (WHERE type = 'order.created'))[1] AS created_eid,
           (array_agg(data ORDER BY occurred_at, event_id) FILTER (WHERE type = 'order.created'))[1] AS created,
           min(occurred_at) FILTER (WHERE type = 'order.paid') AS paid_at,
           min(occurred_at) FILTER (WHERE type = 'order.shipped') AS shipped_at,
           min(occurred_at) FILTER (WHERE type = 'order.delivered') AS delivered_at,
           min(occurred_at) FILTER (WHERE type = 'order.cancelled') AS cancelled_at,
           (array_agg(event_id ORDER BY occurred_at, event_id) FILTER (WHERE type = 'order.cancelled'))[1] AS cancelled_eid,
           (array_agg(data ORDER BY occurred_at, event_id) FILTER (WHERE type = 'order.cancelled'))[1] AS cancelled
    FROM new_events
    WHERE type IN ('order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.cancelled')
    GROUP BY 1, 2
) g
ORDER BY shop_id, order_id
ON CONFLICT (shop_id, order_id) DO UPDATE
SET created_eid  = CASE WHEN (excluded.created_at, excluded.created_eid) < (o.created_at, o.created_eid) OR o.created_at IS NULL
                        THEN excluded.created_eid ELSE o.created_eid END,
    buyer_id     = CASE WHEN (excluded.created_at, excluded.created_eid) < (o.created_at, o.created_eid) OR o.created_at IS NULL
                        THEN excluded.buyer_id ELSE o.buyer_id END,
    amount_cents = CASE WHEN (excluded.created_at, excluded.created_eid) < (o.created_at, o.created_eid) OR o.created_at IS NULL
                        THEN excluded.amount_cents ELSE o.amount_cents END,
    currency     = CASE WHEN (excluded.created_at, excluded.created_eid) < (o.created_at, o.created_eid) OR o.created_at IS NULL
                        THEN excluded.currency ELSE o.currency END,
    item_id      = CASE WHEN (excluded.created_at, excluded.created_eid) < (o.created_at, o.created_eid) OR o.created_at IS NULL
                        THEN excluded.item_id ELSE o.item_id END,
    created_at   = LEAST(o.created_at, excluded.created_at),
    paid_at      = LEAST(o.paid_at, excluded.paid_at),
    shipped_at   = LEAST(o.shipped_at, excluded.shipped_at),
    delivered_at = LEAST(o.delivered_at, excluded.delivered_at),
    cancelled_eid = CASE WHEN (excluded.cancelled_at, excluded.cancelled_eid) < (o.cancelled_at, o.cancelled_eid) OR o.cancelled_at IS NULL
                         THEN excluded.cancelled_eid ELSE o.cancelled_eid END,
    cancel_initiator = CASE WHEN (excluded.cancelled_at, excluded.cancelled_eid) < (o.cancelled_at, o.cancelled_eid) OR o.cancelled_at IS NULL
                            THEN excluded.cancel_initiator ELSE o.cancel_initiator END,
    cancelled_at = LEAST(o.cancelled_at, excluded.cancelled_at)
-- @@
INSERT INTO refunds AS r (shop_id, refund_id, requested_at, requested_eid, order_id, reason, amount_cents,
                          completed_at, rejected_at)
SELECT shop_id, refund_id, requested_at, requested_eid, requested->>'order_id', requested->>'reason',
       (requested->>'amount_cents')::bigint, completed_at, rejected_at
FROM (
    SELECT shop_id, (data->>'refund_id') COLLATE "C" AS refund_id,
           min(occurred_at) FILTER (WHERE type = 'refund.requested') AS requested_at,
           (array_agg(event_id ORDER BY occurred_at, event_id) FILTER (WHERE type = 'refund.requested'))[1] AS requested_eid,
           (array_agg(data ORDER BY occurred_at, event_id) FILTER (WHERE type = 'refund.requested'))[1] AS requested,
           min(occurred_at) FILTER (WHERE type = 'refund.completed') AS completed_at,
           min(occurred_at) FILTER (WHERE type = 'refund.rejected') AS rejected_at
    FROM new_events
    WHERE type IN ('refund.requested', 'refund.completed', 'refund.rejected')
    GROUP BY 1, 2
) g
ORDER BY shop_id, refund_id
ON CONFLICT (shop_id, refund_id) DO UPDATE
SET requested_eid = CASE WHEN (excluded.requested_at, excluded.requested_eid) < (r.requested_at, r.requested_eid) OR r.requested_at IS NULL
                         THEN excluded.requested_eid ELSE r.requested_eid END,
    order_id      = CASE WHEN (excluded.requested_at, excluded.requested_eid) < (r.requested_at, r.requested_eid) OR r.requested_at IS NULL
                         THEN excluded.order_id ELSE r.order_id END,
    reason        = CASE WHEN (excluded.requested_at, excluded.requested_eid) < (r.requested_at, r.requested_eid) OR r.requested_at IS NULL
                         THEN excluded.reason ELSE r.reason END,
    amount_cents  = CASE WHEN (excluded.requested_at, excluded.requested_eid) < (r.requested_at, r.requested_eid) OR r.requested_at IS NULL
                         THEN excluded.amount_cents ELSE r.amount_cents END,
    requested_at  = LEAST(r.requested_at, excluded.requested_at),
    completed_at  = LEAST(r.completed_at, excluded.completed_at),
    rejected_at   = LEAST(r.rejected_at, excluded.rejected_at)
-- @@
INSERT INTO complaints AS c (shop_id, complaint_id, opened_at, opened_eid, category, order_id, accepted_at,
                             first_followup_at, resolved_at, resolved_eid, outcome, ruled_against,
                             verified_at, verified_eid, conduct)
SELECT shop_id, complaint_id, opened_at, opened_eid, opened->>'category', opened->>'order_id', accepted_at,
       first_followup_at, resolved_at, resolved_eid, resolved->>'outcome',
       CASE WHEN resolved IS NOT NULL THEN COALESCE((resolved->>'ruled_against_merchant')::boolean, false) END,
       verified_at, verified_eid, verified->>'conduct'
FROM (
    SELECT shop_id, (data->>'complaint_id') COLLATE "C" AS complaint_id,
           min(occurred_at) FILTER (WHERE type = 'complaint.opened') AS opened_at,
           (array_agg(event_id ORDER BY occurred_at, event_id) FILTER (WHERE type = 'complaint.opened'))[1] AS opened_eid,
           (array_agg(data ORDER BY occurred_at, event_id) FILTER (WHERE type = 'complaint.opened'))[1] AS opened,
           min(occurred_at) FILTER (WHERE type = 'complaint.accepted') AS accepted_at,
           min(occurred_at) FILTER (WHERE type = 'complaint.followed_up') AS first_followup_at,
           min(occurred_at) FILTER (WHERE type = 'complaint.resolved') AS resolved_at,
           (array_agg(event_id ORDER BY occurred_at, event_id) FILTER (WHERE type = 'complaint.resolved'))[1] AS resolved_eid,
           (array_agg(data ORDER BY occurred_at, event_id) FILTER (WHERE type = 'complaint.resolved'))[1] AS resolved,
           min(occurred_at) FILTER (WHERE type = 'complaint.verified') AS verified_at,
           (array_agg(event_id ORDER BY occurred_at, event_id) FILTER (WHERE type = 'complaint.verified'))[1] AS verified_eid,
           (array_agg(data ORDER BY occurred_at, event_id) FILTER (WHERE type = 'complaint.verified'))[1] AS verified
    FROM new_events
    WHERE type IN ('complaint.opened', 'complaint.accepted', 'complaint.followed_up', 'complaint.resolved',
                   'complaint.verified')
    GROUP BY 1, 2
) g
ORDER BY shop_id, complaint_id
ON CONFLICT (shop_id, complaint_id) DO UPDATE
SET opened_eid = CASE WHEN (excluded.opened_at, excluded.opened_eid) < (c.opened_at, c.opened_eid) OR c.opened_at IS NULL
                      THEN excluded.opened_eid ELSE c.opened_eid END,
    category   = CASE WHEN (excluded.opened_at, excluded.opened_eid) < (c.opened_at, c.opened_eid) OR c.opened_at IS NULL
                      THEN excluded.category ELSE c.category END,
    order_id   = CASE WHEN (excluded.opened_at, excluded.opened_eid) < (c.opened_at, c.opened_eid) OR c.opened_at IS NULL
                      THEN excluded.order_id ELSE c.order_id END,
    opened_at  = LEAST(c.opened_at, excluded.opened_at),
    accepted_at = LEAST(c.accepted_at, excluded.accepted_at),
    first_followup_at = LEAST(c.first_followup_at, excluded.first_followup_at),
    resolved_eid  = CASE WHEN (excluded.resolved_at, excluded.resolved_eid) < (c.resolved_at, c.resolved_eid) OR c.resolved_at IS NULL
                         THEN excluded.resolved_eid ELSE c.resolved_eid END,
    outcome       = CASE WHEN (excluded.resolved_at, excluded.resolved_eid) < (c.resolved_at, c.resolved_eid) OR c.resolved_at IS NULL
                         THEN excluded.outcome ELSE c.outcome END,
    ruled_against = CASE WHEN (excluded.resolved_at, excluded.resolved_eid) < (c.resolved_at, c.resolved_eid) OR c.resolved_at IS NULL
                         THEN excluded.ruled_against ELSE c.ruled_against END,
    resolved_at   = LEAST(c.resolved_at, excluded.resolved_at),
    verified_eid  = CASE WHEN (excluded.verified_at, excluded.verified_eid) < (c.verified_at, c.verified_eid) OR c.verified_at IS NULL
                         THEN excluded.verified_eid ELSE c.verified_eid END,
    conduct       = CASE WHEN (excluded.verified_at, excluded.verified_eid) < (c.verified_at, c.verified_eid) OR c.verified_at IS NULL
                         THEN excluded.conduct ELSE c.conduct END,
    verified_at   = LEAST(c.verified_at, excluded.verified_at)