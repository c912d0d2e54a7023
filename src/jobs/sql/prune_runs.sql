DELETE FROM job_runs WHERE kind <> 'daily' AND finished_at < $1
