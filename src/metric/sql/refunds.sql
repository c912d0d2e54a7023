-- Refunds requested in [$2, $3), visible at $4; completion and rejection masked at $4.
SELECT shop_id, reason, requested_at,
       CASE WHEN completed_at <= $4 THEN completed_at END AS completed_at,
       CASE WHEN rejected_at <= $4 THEN rejected_at END   AS rejected_at,
       refund_id
FROM refunds
WHERE shop_id = ANY($1) AND requested_at >= $2 AND requested_at < $3 AND requested_at <= $4
