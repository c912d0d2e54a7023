-- The integrity.flagged events of one shop ($1) in [$2, $3), visible at $4 (the
-- drill-down; `integrity.sql` counts these rows): id, time, detail.
SELECT event_id, occurred_at, 'flagged ' || kind FROM integrity_flags
WHERE shop_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND occurred_at <= $4
