-- Orders whose created_at is in [$2, $3) and visible at $4; later timestamps masked.
SELECT shop_id, order_id, created_at,
       CASE WHEN paid_at <= $4 THEN paid_at END           AS paid_at,
       CASE WHEN shipped_at <= $4 THEN shipped_at END     AS shipped_at,
       CASE WHEN delivered_at <= $4 THEN delivered_at END AS delivered_at,
       CASE WHEN cancelled_at <= $4 THEN cancelled_at END AS cancelled_at,
       CASE WHEN cancelled_at <= $4 THEN cancel_initiator END AS cancel_initiator,
       amount_cents
FROM orders
WHERE shop_id = ANY($1) AND created_at >= $2 AND created_at < $3 AND created_at <= $4
