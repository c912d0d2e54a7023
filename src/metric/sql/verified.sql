-- Complaints whose earliest complaint.verified is in [$2, $3) and visible at $4.
SELECT shop_id, count(*) FROM complaints
WHERE shop_id = ANY($1) AND verified_at >= $2 AND verified_at < $3 AND verified_at <= $4
GROUP BY shop_id
