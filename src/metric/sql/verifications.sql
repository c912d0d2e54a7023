-- complaint.verified events (every one, not only a complaint's first) in [$2, $3), visible at $4.
SELECT shop_id, count(*) FROM complaint_verifications
WHERE shop_id = ANY($1) AND occurred_at >= $2 AND occurred_at < $3 AND occurred_at <= $4
GROUP BY shop_id
