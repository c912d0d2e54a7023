-- Concurrent ingest must not update order rows: in a backfill (events in any order) an
-- order's events arrive in many batches, and two batches in flight that share one
-- order made the second wait for the first to commit; with four producers a quarter of
-- the database's time went to those waits. A batch now appends its order events to
-- `order_events` (keyed by the event: nothing to wait for) and one row naming the
-- orders it touched to `orders_to_fold`. `orders` is the fold of an order's events
-- (`src/ingest/fold_orders.sql`), brought up to date at the start of every recompute,
-- the only reader of `orders`.
CREATE TABLE order_events (
    shop_id      text COLLATE "C" NOT NULL,
    order_id     text COLLATE "C" NOT NULL,
    event_id     text COLLATE "C" NOT NULL,
    type         text NOT NULL CHECK (type IN ('order.created', 'order.paid', 'order.shipped',
                                               'order.delivered', 'order.cancelled')),
    occurred_at  timestamptz NOT NULL,
    buyer_id     text COLLATE "C",
    amount_cents bigint,
    currency     text,
    item_id      text COLLATE "C",
    initiator    text,
    PRIMARY KEY (shop_id, order_id, event_id)
);

-- A work queue, like `dirty_marks`: one row per batch, the orders it touched as two
-- parallel arrays (of the same length, in no particular order).
CREATE TABLE orders_to_fold (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_ids  text[] COLLATE "C" NOT NULL,
    order_ids text[] COLLATE "C" NOT NULL,
    CHECK (cardinality(shop_ids) = cardinality(order_ids))
);
-- Queue rows live for a minute: compressing their arrays (~10 KB a batch) is wasted work.
ALTER TABLE orders_to_fold ALTER shop_ids SET STORAGE EXTERNAL, ALTER order_ids SET STORAGE EXTERNAL;
ALTER TABLE dirty_marks ALTER shop_ids SET STORAGE EXTERNAL;

-- Existing data: the order events already stored, already folded into `orders`.
INSERT INTO order_events (shop_id, order_id, event_id, type, occurred_at, buyer_id, amount_cents,
                          currency, item_id, initiator)
SELECT shop_id, data->>'order_id', event_id, type, occurred_at, data->>'buyer_id',
       (data->>'amount_cents')::bigint, data->>'currency', data->>'item_id',
       data->>'initiator'
FROM events
WHERE type IN ('order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.cancelled');
