UPDATE job_runs
SET outcome = 'failed', finished_at = $2,
    error = 'abandoned: the process running it stopped before it ended'
WHERE id = $1
