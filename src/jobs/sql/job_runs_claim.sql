-- A new run on record, or a failed slot claimed again; no row back when the slot ran or
-- is running (`jobs::runs::Claim::start`).
INSERT INTO job_runs (kind, slot, as_of, replica, started_at, outcome)
VALUES ($1, $2, $3, $4, $5, 'running')
ON CONFLICT (kind, slot) DO UPDATE
    SET as_of = excluded.as_of, replica = excluded.replica, started_at = excluded.started_at,
        finished_at = NULL, duration_ms = NULL, shops_scored = NULL, outcome = 'running'
    WHERE job_runs.outcome = 'failed'
RETURNING id
