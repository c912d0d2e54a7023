-- Concurrent ingest must not update a shared row per shop on every batch: the old
-- `shops.dirty_since` mark made every producer of a shop queue behind the others (and
-- deadlock with them). A committed batch now appends one row naming the shops it
-- touched, and a recompute reads the marks before it reads any data and clears, at the
-- end, its shops from exactly the marks it read, so an event committed during a run
-- keeps its mark for the next run. This table is a work queue, not shop data: its key
-- is the mark's id (one row per batch, not per shop, costs a tenth of the time).
CREATE TABLE dirty_marks (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_ids  text[] COLLATE "C" NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO dirty_marks (shop_ids, marked_at)
SELECT array_agg(shop_id ORDER BY shop_id), min(dirty_since) FROM shops WHERE dirty_since IS NOT NULL
HAVING count(*) > 0;

DROP INDEX shops_dirty;
ALTER TABLE shops DROP COLUMN dirty_since;

-- The same for a shop's first event time: a batch that lowered `shops.first_event_at`
-- locked the shop's row until it committed, and in a backfill (events in any order)
-- nearly every batch lowers it for most of its shops. Candidates are appended instead,
-- only when lower than every one already stored (read without a lock), and a shop's
-- first event time is the smallest of its rows.
CREATE TABLE shop_first_events (
    shop_id  text COLLATE "C" NOT NULL,
    first_at timestamptz NOT NULL,
    PRIMARY KEY (shop_id, first_at)
);

INSERT INTO shop_first_events (shop_id, first_at)
SELECT shop_id, first_event_at FROM shops WHERE first_event_at IS NOT NULL;

-- The one definition readers use.
CREATE VIEW shop_first_event AS
SELECT shop_id, min(first_at) AS first_event_at FROM shop_first_events GROUP BY shop_id;

ALTER TABLE shops DROP COLUMN first_event_at;

-- An order, refund or complaint row is updated by most of its later events (paid,
-- shipped, …). Room on each page lets those updates be HOT (no new index entries).
ALTER TABLE orders SET (fillfactor = 70);
ALTER TABLE refunds SET (fillfactor = 70);
ALTER TABLE complaints SET (fillfactor = 70);
