-- Conversations whose first buyer message t0 is in [$2, $3) (visible at $4), with the
-- sender of the first response and the time of the first human reply (both at or after t0).
--
-- One pass over the batch's messages in [$2, $4] (a response is at or after t0 >= $2):
-- t0 is the earliest buyer message there, which is the earliest in [$2, $3) when there
-- is one there at all (the rest are later than $3), so `t0 < $3` keeps exactly the
-- conversations that start in the window. Conversations with a buyer message before $2
-- started earlier and are left out.
WITH m AS (
    SELECT shop_id, conversation_id, occurred_at, event_id, sender,
           min(occurred_at) FILTER (WHERE sender = 'buyer') OVER (PARTITION BY shop_id, conversation_id) AS t0
    FROM chat_messages
    WHERE shop_id = ANY($1) AND occurred_at >= $2 AND occurred_at <= $4
)
SELECT shop_id, t0,
       (array_agg(sender ORDER BY occurred_at, event_id)
            FILTER (WHERE sender <> 'buyer' AND occurred_at >= t0))[1] AS first_sender,
       min(occurred_at) FILTER (WHERE sender = 'agent' AND occurred_at >= t0) AS first_human
FROM m c
WHERE t0 < $3
  AND NOT EXISTS (
    SELECT 1 FROM chat_messages b
    WHERE b.shop_id = ANY($1) AND b.shop_id = c.shop_id AND b.conversation_id = c.conversation_id
      AND b.sender = 'buyer' AND b.occurred_at < $2)
GROUP BY shop_id, conversation_id, t0
