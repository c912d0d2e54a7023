-- Conversations whose first buyer message t0 is in [$2, $3) (visible at $4), with the
-- sender of the first response and the time of the first human reply (both at or after t0).
WITH cand AS (
    SELECT shop_id, conversation_id, min(occurred_at) AS t0
    FROM chat_messages
    WHERE shop_id = ANY($1) AND sender = 'buyer'
      AND occurred_at >= $2 AND occurred_at < $3 AND occurred_at <= $4
    GROUP BY shop_id, conversation_id
)
SELECT c.shop_id, c.t0,
       (SELECT r.sender FROM chat_messages r
         WHERE r.shop_id = c.shop_id AND r.conversation_id = c.conversation_id
           AND r.sender <> 'buyer' AND r.occurred_at >= c.t0 AND r.occurred_at <= $4
         ORDER BY r.occurred_at, r.event_id LIMIT 1) AS first_sender,
       (SELECT min(r.occurred_at) FROM chat_messages r
         WHERE r.shop_id = c.shop_id AND r.conversation_id = c.conversation_id
           AND r.sender = 'agent' AND r.occurred_at >= c.t0 AND r.occurred_at <= $4) AS first_human
FROM cand c
WHERE NOT EXISTS (
    SELECT 1 FROM chat_messages b
    WHERE b.shop_id = c.shop_id AND b.conversation_id = c.conversation_id
      AND b.sender = 'buyer' AND b.occurred_at < $2)
