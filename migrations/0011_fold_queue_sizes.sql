-- Each queue row's number of entities, so that a fold can take the queue in bounded
-- chunks (`src/ingest/fold.rs`) without reading every row's arrays to count them: a
-- backfill queues hundreds of thousands of orders, and one statement folding them all
-- ran for seconds.
ALTER TABLE orders_to_fold
    ADD COLUMN entities integer GENERATED ALWAYS AS (cardinality(order_ids)) STORED;
ALTER TABLE conversations_to_fold
    ADD COLUMN entities integer GENERATED ALWAYS AS (cardinality(conversation_ids)) STORED;
