-- Each order's counted review (its latest visible at $4) whose time is in [$2, $3).
-- A latest review at or after $2 is the latest overall, so earlier ones need not be read.
-- Only their number per rating is used: one row per shop and rating, with the count.
SELECT shop_id, rating, count(*) AS n FROM (
    SELECT DISTINCT ON (shop_id, order_id) shop_id, rating, occurred_at
    FROM reviews
    WHERE shop_id = ANY($1) AND occurred_at >= $2 AND occurred_at <= $4
    ORDER BY shop_id DESC, order_id DESC, occurred_at DESC, event_id DESC
) r
WHERE occurred_at < $3
GROUP BY shop_id, rating
