-- Conversations whose latest chat.rated (visible at $4) has its time in [$2, $3): one
-- row per shop and satisfaction, with the count.
SELECT shop_id, satisfaction, count(*) AS n FROM (
    SELECT DISTINCT ON (shop_id, conversation_id) shop_id, satisfaction, occurred_at
    FROM chat_ratings
    WHERE shop_id = ANY($1) AND occurred_at >= $2 AND occurred_at <= $4
    ORDER BY shop_id DESC, conversation_id DESC, occurred_at DESC, event_id DESC
) r
WHERE occurred_at < $3
GROUP BY shop_id, satisfaction
