UPDATE job_runs
SET outcome = $2, finished_at = $3, duration_ms = $4, shops_scored = $5, error = $6
WHERE id = $1
