-- Concurrent ingest must not update a shared row per shop on every batch: the old
-- `shops.dirty_since` mark made every producer of a shop queue behind the others (and
-- deadlock with them). Dirty marks are now appended, one row per shop per committed
-- batch, and a recompute deletes exactly the rows it read before reading the shop's
-- data, so an event committed during a run keeps its mark for the next run.
CREATE TABLE dirty_shops (
    shop_id   text COLLATE "C" NOT NULL,
    id        bigint GENERATED ALWAYS AS IDENTITY,
    marked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, id)
);

INSERT INTO dirty_shops (shop_id, marked_at)
SELECT shop_id, dirty_since FROM shops WHERE dirty_since IS NOT NULL;

DROP INDEX shops_dirty;
ALTER TABLE shops DROP COLUMN dirty_since;
