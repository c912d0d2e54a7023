-- Chat conversations, folded from their messages as orders are from their events
-- (migration 0005). The chat metrics read, for every window of every run, each
-- conversation's start, first response and first human reply; computing them from the
-- messages each time (a window over every message of a batch's shops, an anti join and
-- an ordered aggregate per conversation) was the largest query of a recompute: 3.5 s of
-- a 10 000-shop run's ~10 s of database time. They change only when a message arrives,
-- so ingest queues the conversations a batch touched (one row per batch, nothing to
-- wait for) and the fold at the start of every recompute (`ingest::fold`) rewrites
-- their rows from all their messages (`src/ingest/fold_conversations.sql`).
CREATE TABLE conversations (
    shop_id           text COLLATE "C" NOT NULL,
    conversation_id   text COLLATE "C" NOT NULL,
    -- The earliest buyer message.
    started_at        timestamptz NOT NULL,
    -- The earliest message at or after started_at that is not the buyer's (by time,
    -- then event id), and its sender.
    first_response_at timestamptz,
    first_sender      text CHECK (first_sender IN ('agent', 'bot')),
    -- The earliest agent message at or after started_at.
    first_human_at    timestamptz,
    PRIMARY KEY (shop_id, conversation_id)
);
CREATE INDEX conversations_started ON conversations (shop_id, started_at);

-- A work queue like `orders_to_fold`: one row per batch, the conversations it touched.
CREATE TABLE conversations_to_fold (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_ids         text[] COLLATE "C" NOT NULL,
    conversation_ids text[] COLLATE "C" NOT NULL,
    CHECK (cardinality(shop_ids) = cardinality(conversation_ids))
);
ALTER TABLE conversations_to_fold ALTER shop_ids SET STORAGE EXTERNAL,
                                  ALTER conversation_ids SET STORAGE EXTERNAL;

-- Existing data: every stored conversation is queued, for the next recompute to fold.
INSERT INTO conversations_to_fold (shop_ids, conversation_ids)
SELECT array_agg(shop_id), array_agg(conversation_id)
FROM (SELECT DISTINCT shop_id, conversation_id FROM chat_messages) c
HAVING count(*) > 0;
