-- The counted satisfaction ratings of one shop ($1) whose time is in [$2, $3), visible
-- at $4: each conversation's latest rating, one row each (the drill-down; `ratings.sql`
-- counts these rows).
SELECT conversation_id, satisfaction, occurred_at FROM (
    SELECT DISTINCT ON (conversation_id) conversation_id, satisfaction, occurred_at
    FROM chat_ratings
    WHERE shop_id = $1 AND occurred_at >= $2 AND occurred_at <= $4
    ORDER BY conversation_id DESC, occurred_at DESC, event_id DESC
) r
WHERE occurred_at < $3
