-- Every order's counted review as of $2 (its latest), with what credit needs of the
-- order: its date (created_at, else the review's time), amount and item.
SELECT r.shop_id, r.order_id, r.buyer_id, r.rating, r.occurred_at,
       CASE WHEN o.created_at <= $2 THEN o.created_at END   AS created_at,
       CASE WHEN o.created_at <= $2 THEN o.amount_cents END AS amount_cents,
       CASE WHEN o.created_at <= $2 THEN o.item_id END      AS item_id
FROM (
    SELECT DISTINCT ON (shop_id, order_id) shop_id, order_id, buyer_id, rating, occurred_at
    FROM reviews
    WHERE shop_id = ANY($1) AND occurred_at <= $2
    ORDER BY shop_id DESC, order_id DESC, occurred_at DESC, event_id DESC
) r
-- The batch's orders only: the planner then reads them by index, not all of `orders`.
LEFT JOIN (SELECT * FROM orders WHERE shop_id = ANY($1)) o
       ON o.shop_id = r.shop_id AND o.order_id = r.order_id
-- In no particular order: `credit::points` groups and sorts what it needs.
