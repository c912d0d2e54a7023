-- The counted reviews of one shop ($1) whose time is in [$2, $3), visible at $4: each
-- order's latest review, one row each (the drill-down; `reviews.sql` counts these rows).
SELECT order_id, rating, occurred_at FROM (
    SELECT DISTINCT ON (order_id) order_id, rating, occurred_at
    FROM reviews
    WHERE shop_id = $1 AND occurred_at >= $2 AND occurred_at <= $4
    ORDER BY order_id DESC, occurred_at DESC, event_id DESC
) r
WHERE occurred_at < $3
