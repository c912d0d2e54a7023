UPDATE job_runs SET as_of = $2, replica = $3, started_at = $4 WHERE id = $1
