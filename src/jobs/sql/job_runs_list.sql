-- Runs newest first, optionally of one kind ($1) and outcome ($2), before the run $3;
-- $4 rows.
SELECT id, kind, slot, as_of, replica, started_at, finished_at, duration_ms, shops_scored,
       outcome, error
FROM job_runs
WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR outcome = $2)
  AND ($3::bigint IS NULL OR id < $3)
ORDER BY id DESC
LIMIT $4
