SELECT id, kind, slot, replica FROM job_runs WHERE outcome = 'running' ORDER BY id
