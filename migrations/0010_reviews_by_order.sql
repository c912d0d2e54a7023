-- Each order's reviews and each conversation's ratings in time order, for the
-- `DISTINCT ON` of the metric queries (latest review or rating of each, first DSR
-- review: `src/metric/sql/{credit,reviews,dsr,ratings}.sql`). Read in index order
-- (backwards for "latest"), a batch's rows need no sort: at 10 000 shops the credit,
-- DSR, reviews and ratings queries spent a third of their time sorting ~17 000 rows
-- per batch (BENCHMARKS.md). The primary keys order by event id, not by time.
CREATE INDEX reviews_by_order ON reviews (shop_id, order_id, occurred_at, event_id);
CREATE INDEX chat_ratings_by_conversation
    ON chat_ratings (shop_id, conversation_id, occurred_at, event_id);
