-- The complaint.verified events of one shop ($1) in [$2, $3), visible at $4 (the
-- drill-down; `verifications.sql` counts these rows): id, time, detail.
SELECT event_id, occurred_at, 'verifies complaint ' || complaint_id || ' (' || conduct || ')'
FROM complaint_verifications
WHERE shop_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND occurred_at <= $4
