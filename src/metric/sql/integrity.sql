-- integrity.flagged events in [$2, $3), visible at $4.
SELECT shop_id, count(*) FROM integrity_flags
WHERE shop_id = ANY($1) AND occurred_at >= $2 AND occurred_at < $3 AND occurred_at <= $4
GROUP BY shop_id
