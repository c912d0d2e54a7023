-- Brings `orders` up to date with `order_events`, one chunk of the queue at a time:
-- takes the oldest queued batches (id at most $1) while they hold fewer than $2 orders
-- before them (so at least one), and rewrites each of their orders' rows from all of
-- its events (so a row depends only on the set of events, never on the order they came
-- in). One statement, so one snapshot: the queue rows it takes and the events it reads
-- are the same commits. Folds run one at a time (`ingest::fold`), or an older snapshot
-- could overwrite a newer fold's row.
-- "Earliest wins": the earliest event of each type, ties broken by event id.
-- Returns the queue rows taken and the orders rewritten.
WITH oldest AS (
    SELECT id, sum(entities) OVER (ORDER BY id) - entities AS before
    FROM (SELECT id, entities FROM orders_to_fold WHERE id <= $1 ORDER BY id LIMIT 1000) q
),
taken AS (
    DELETE FROM orders_to_fold
    WHERE id IN (SELECT id FROM oldest WHERE before < $2)
    RETURNING shop_ids, order_ids
),
touched AS (
    SELECT DISTINCT k.shop_id, k.order_id
    FROM taken, unnest(taken.shop_ids, taken.order_ids) AS k(shop_id, order_id)
),
earliest_of_each_type AS (
    SELECT DISTINCT ON (e.shop_id, e.order_id, e.type) e.*
    FROM touched t JOIN order_events e ON e.shop_id = t.shop_id AND e.order_id = t.order_id
    ORDER BY e.shop_id, e.order_id, e.type, e.occurred_at, e.event_id
),
folded AS (
INSERT INTO orders AS o (shop_id, order_id, created_at, created_eid, buyer_id, amount_cents, currency,
                         item_id, paid_at, shipped_at, delivered_at, cancelled_at, cancelled_eid,
                         cancel_initiator)
SELECT shop_id, order_id,
       min(occurred_at) FILTER (WHERE type = 'order.created'),
       min(event_id) FILTER (WHERE type = 'order.created'),
       min(buyer_id) FILTER (WHERE type = 'order.created'),
       min(amount_cents) FILTER (WHERE type = 'order.created'),
       min(COALESCE(currency, 'CNY')) FILTER (WHERE type = 'order.created'),
       min(item_id) FILTER (WHERE type = 'order.created'),
       min(occurred_at) FILTER (WHERE type = 'order.paid'),
       min(occurred_at) FILTER (WHERE type = 'order.shipped'),
       min(occurred_at) FILTER (WHERE type = 'order.delivered'),
       min(occurred_at) FILTER (WHERE type = 'order.cancelled'),
       min(event_id) FILTER (WHERE type = 'order.cancelled'),
       min(initiator) FILTER (WHERE type = 'order.cancelled')
FROM earliest_of_each_type
GROUP BY shop_id, order_id
ORDER BY shop_id, order_id
ON CONFLICT (shop_id, order_id) DO UPDATE
SET created_at = excluded.created_at, created_eid = excluded.created_eid,
    buyer_id = excluded.buyer_id, amount_cents = excluded.amount_cents,
    currency = excluded.currency, item_id = excluded.item_id,
    paid_at = excluded.paid_at, shipped_at = excluded.shipped_at,
    delivered_at = excluded.delivered_at, cancelled_at = excluded.cancelled_at,
    cancelled_eid = excluded.cancelled_eid, cancel_initiator = excluded.cancel_initiator
RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM folded)
