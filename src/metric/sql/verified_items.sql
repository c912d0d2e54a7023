-- The complaints of one shop ($1) whose earliest complaint.verified is in [$2, $3) and
-- visible at $4 (the drill-down; `verified.sql` counts these rows): id, time, detail.
SELECT complaint_id, verified_at, 'its first verification' FROM complaints
WHERE shop_id = $1 AND verified_at >= $2 AND verified_at < $3 AND verified_at <= $4
