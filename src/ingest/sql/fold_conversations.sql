-- Brings `conversations` up to date with `chat_messages`, one chunk of the queue at a
-- time as for orders (`fold_orders.sql`: id at most $1, fewer than $2 conversations
-- before a batch taken): rewrites each conversation's row from all of its messages, so
-- the row depends only on the set of messages (never on the order they came in). One
-- statement, one snapshot, and one fold at a time (`ingest::fold`), as for orders.
-- Returns the queue rows taken and the conversations rewritten.
--
-- A conversation starts at its earliest buyer message (t0). Its first response is the
-- earliest message at or after t0 that is not the buyer's (by time, then event id);
-- its first human reply the earliest agent message at or after t0. A conversation with
-- no buyer message has not started and has no row (buyer messages are never removed,
-- so a row once written is never taken back).
--
-- Why these are enough for every window and evaluation instant e (`metric/sql/chat.sql`):
-- a conversation counts in [lo, hi) when its earliest visible buyer message is in the
-- window and none is before lo, which is exactly `lo <= t0 < hi` (hi <= e + 1µs, so t0
-- is visible); the first response visible at e is the first response when that is at
-- or before e, and there is none otherwise (it is the earliest); likewise the first
-- human reply.
WITH oldest AS (
    SELECT id, sum(entities) OVER (ORDER BY id) - entities AS before
    FROM (SELECT id, entities FROM conversations_to_fold WHERE id <= $1 ORDER BY id LIMIT 1000) q
),
taken AS (
    DELETE FROM conversations_to_fold
    WHERE id IN (SELECT id FROM oldest WHERE before < $2)
    RETURNING shop_ids, conversation_ids
),
touched AS (
    SELECT DISTINCT k.shop_id, k.conversation_id
    FROM taken, unnest(taken.shop_ids, taken.conversation_ids) AS k(shop_id, conversation_id)
),
messages AS (
    SELECT m.shop_id, m.conversation_id, m.occurred_at, m.event_id, m.sender,
           min(m.occurred_at) FILTER (WHERE m.sender = 'buyer')
               OVER (PARTITION BY m.shop_id, m.conversation_id) AS t0
    FROM touched t
    JOIN chat_messages m ON m.shop_id = t.shop_id AND m.conversation_id = t.conversation_id
),
folded AS (
INSERT INTO conversations AS c (shop_id, conversation_id, started_at, first_response_at,
                                first_sender, first_human_at)
SELECT shop_id, conversation_id, min(t0),
       min(occurred_at) FILTER (WHERE sender <> 'buyer' AND occurred_at >= t0),
       (array_agg(sender ORDER BY occurred_at, event_id)
            FILTER (WHERE sender <> 'buyer' AND occurred_at >= t0))[1],
       min(occurred_at) FILTER (WHERE sender = 'agent' AND occurred_at >= t0)
FROM messages
WHERE t0 IS NOT NULL
GROUP BY shop_id, conversation_id
ORDER BY shop_id, conversation_id
ON CONFLICT (shop_id, conversation_id) DO UPDATE
SET started_at = excluded.started_at, first_response_at = excluded.first_response_at,
    first_sender = excluded.first_sender, first_human_at = excluded.first_human_at
RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM folded)
