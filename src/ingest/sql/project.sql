-- Entity projections, folded into one statement with the events insert: each statement
-- below becomes a data-modifying CTE of `WITH batch AS (<source>) …` (see
-- `ingest::writer`), where `batch` is the rows of the events the statement inserts
-- (ingest) or a chunk of the stored events (`shopscore rebuild`). Each statement folds
-- the events into the projection so that the result depends only on the set of events,
-- never on arrival order: "earliest wins" columns keep the smallest
-- (occurred_at, event_id); kinds where every event counts keep a row per event.
--
-- Concurrency (many producers at once). Deadlocks are impossible by construction:
--   * every row a statement may lock or wait for is taken in key order (`ORDER BY` the
--     conflict key, and the events in key order);
--   * each such table is written by exactly one statement, and every batch runs the
--     same statement: PostgreSQL runs the events insert first (the statement returns
--     its rows) and then the CTEs one by one, each to its end, in a fixed order (the
--     writer lists them so that it is this file's order);
-- so every transaction takes its locks in one global order. The per-event tables are
-- keyed by the event itself, which this transaction alone inserted, so they never wait
-- and need no `ON CONFLICT` (its speculative insertion took 20–50 % longer per row
-- than a plain insert, 200 000 rows into a keyed table).
-- No statement updates a row that every batch of a shop would touch: a shop row is only
-- inserted, for a shop with no first-event time stored (`DO NOTHING` takes no lock on
-- an existing row, and shops seen before are not even looked up), and the first-event time
-- and the dirty mark (one row per batch) are appended rows. Statements that may wait
-- (a new shop or first-event time another batch is adding too; the rows of refunds
-- and complaints that other batches share) come last, so their locks are held only for
-- the end of the transaction. Orders, the entity most batches share, are not updated
-- here at all: their events are appended and folded later (migration 0005), and so are
-- chat conversations (migration 0009). Retries of deadlocks (`db::retry`) stay as a
-- second line of defence.
-- Statements are separated by lines holding only `-- @@`; a query that begins with
-- `-- helper: <name>` is a read-only CTE of that name the statements share.
-- @@

INSERT INTO dirty_marks (shop_ids)
SELECT array_agg(DISTINCT shop_id) FROM batch
HAVING count(*) > 0
-- @@
INSERT INTO reviews (shop_id, order_id, event_id, occurred_at, buyer_id, rating,
                     dsr_description, dsr_service, dsr_logistics)
SELECT e.shop_id, e.data->>'order_id', e.event_id, e.occurred_at, e.data->>'buyer_id',
       CASE e.data->>'rating' WHEN 'positive' THEN 1 WHEN 'negative' THEN -1 ELSE 0 END,
       (e.data->'dsr'->>'description')::smallint, (e.data->'dsr'->>'service')::smallint,
       (e.data->'dsr'->>'logistics')::smallint
FROM batch e
WHERE e.type = 'order.reviewed'
-- @@
INSERT INTO chat_messages (shop_id, conversation_id, event_id, occurred_at, sender, agent_id)
SELECT e.shop_id, e.data->>'conversation_id', e.event_id, e.occurred_at, e.data->>'sender', e.data->>'agent_id'
FROM batch e
WHERE e.type = 'chat.message'
-- @@
-- The conversations whose row `fold_conversations.sql` must bring up to date.
INSERT INTO conversations_to_fold (shop_ids, conversation_ids)
SELECT array_agg(shop_id), array_agg(conversation_id)
FROM (SELECT DISTINCT shop_id, (data->>'conversation_id') COLLATE "C" AS conversation_id
      FROM batch
      WHERE type = 'chat.message'
     ) touched
HAVING count(*) > 0
-- @@
INSERT INTO chat_ratings (shop_id, conversation_id, event_id, occurred_at, satisfaction)
SELECT e.shop_id, e.data->>'conversation_id', e.event_id, e.occurred_at, e.data->>'satisfaction'
FROM batch e
WHERE e.type = 'chat.rated'
-- @@
INSERT INTO agent_status (shop_id, agent_id, event_id, occurred_at, online)
SELECT e.shop_id, e.data->>'agent_id', e.event_id, e.occurred_at, e.data->>'status' = 'online'
FROM batch e
WHERE e.type = 'agent.status'
-- @@
INSERT INTO complaint_followups (shop_id, complaint_id, event_id, occurred_at)
SELECT e.shop_id, e.data->>'complaint_id', e.event_id, e.occurred_at
FROM batch e
WHERE e.type = 'complaint.followed_up'
-- @@
INSERT INTO complaint_verifications (shop_id, complaint_id, event_id, occurred_at, conduct)
SELECT e.shop_id, e.data->>'complaint_id', e.event_id, e.occurred_at, e.data->>'conduct'
FROM batch e
WHERE e.type = 'complaint.verified'
-- @@
INSERT INTO order_events (shop_id, order_id, event_id, type, occurred_at, buyer_id, amount_cents,
                          currency, item_id, initiator)
SELECT e.shop_id, e.data->>'order_id', e.event_id, e.type, e.occurred_at, e.data->>'buyer_id',
       (e.data->>'amount_cents')::bigint, e.data->>'currency', e.data->>'item_id',
       e.data->>'initiator'
FROM batch e
WHERE e.type IN ('order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.cancelled')
-- @@
-- The orders whose row `fold_orders.sql` must bring up to date.
INSERT INTO orders_to_fold (shop_ids, order_ids)
SELECT array_agg(shop_id), array_agg(order_id)
FROM (SELECT DISTINCT shop_id, (data->>'order_id') COLLATE "C" AS order_id
      FROM batch
      WHERE type IN ('order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.cancelled')
     ) touched
HAVING count(*) > 0
-- @@
INSERT INTO integrity_flags (shop_id, event_id, occurred_at, kind, note)
SELECT e.shop_id, e.event_id, e.occurred_at, e.data->>'kind', e.data->>'note'
FROM batch e
WHERE e.type = 'integrity.flagged'
-- @@
-- helper: batch_firsts
-- Each shop of the batch, its earliest event in the batch and the earliest one stored
-- (NULL for a shop never seen, whose row the next statement adds).
SELECT shop_id, min(occurred_at) AS first_at,
       (SELECT min(f.first_at) FROM shop_first_events f WHERE f.shop_id = b.shop_id) AS known_first_at
FROM batch b
GROUP BY shop_id
-- @@
INSERT INTO shops (shop_id)
SELECT shop_id FROM batch_firsts
WHERE known_first_at IS NULL
ORDER BY shop_id
ON CONFLICT (shop_id) DO NOTHING
-- @@
INSERT INTO shop_first_events (shop_id, first_at)
SELECT shop_id, first_at FROM batch_firsts
WHERE known_first_at IS NULL OR first_at < known_first_at
ORDER BY shop_id
ON CONFLICT DO NOTHING
-- @@
INSERT INTO refunds AS r (shop_id, refund_id, requested_at, requested_eid, order_id, reason, amount_cents,
                          completed_at, rejected_at)
SELECT shop_id, refund_id,
       min(occurred_at) FILTER (WHERE type = 'refund.requested'),
       min(event_id) FILTER (WHERE type = 'refund.requested'),
       min(data->>'order_id') FILTER (WHERE type = 'refund.requested'),
       min(data->>'reason') FILTER (WHERE type = 'refund.requested'),
       min((data->>'amount_cents')::bigint) FILTER (WHERE type = 'refund.requested'),
       min(occurred_at) FILTER (WHERE type = 'refund.completed'),
       min(occurred_at) FILTER (WHERE type = 'refund.rejected')
FROM (
    SELECT DISTINCT ON (shop_id, 2, type) shop_id, (data->>'refund_id') COLLATE "C" AS refund_id, type,
           occurred_at, event_id, data
    FROM batch
    WHERE type IN ('refund.requested', 'refund.completed', 'refund.rejected')
    ORDER BY shop_id, 2, type, occurred_at, event_id
) earliest_of_each_type
GROUP BY shop_id, refund_id
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
SELECT shop_id, complaint_id,
       min(occurred_at) FILTER (WHERE type = 'complaint.opened'),
       min(event_id) FILTER (WHERE type = 'complaint.opened'),
       min(data->>'category') FILTER (WHERE type = 'complaint.opened'),
       min(data->>'order_id') FILTER (WHERE type = 'complaint.opened'),
       min(occurred_at) FILTER (WHERE type = 'complaint.accepted'),
       min(occurred_at) FILTER (WHERE type = 'complaint.followed_up'),
       min(occurred_at) FILTER (WHERE type = 'complaint.resolved'),
       min(event_id) FILTER (WHERE type = 'complaint.resolved'),
       min(data->>'outcome') FILTER (WHERE type = 'complaint.resolved'),
       bool_or(COALESCE((data->>'ruled_against_merchant')::boolean, false)) FILTER (WHERE type = 'complaint.resolved'),
       min(occurred_at) FILTER (WHERE type = 'complaint.verified'),
       min(event_id) FILTER (WHERE type = 'complaint.verified'),
       min(data->>'conduct') FILTER (WHERE type = 'complaint.verified')
FROM (
    SELECT DISTINCT ON (shop_id, 2, type) shop_id, (data->>'complaint_id') COLLATE "C" AS complaint_id, type,
           occurred_at, event_id, data
    FROM batch
    WHERE type IN ('complaint.opened', 'complaint.accepted', 'complaint.followed_up', 'complaint.resolved',
                   'complaint.verified')
    ORDER BY shop_id, 2, type, occurred_at, event_id
) earliest_of_each_type
GROUP BY shop_id, complaint_id
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
