-- Wakes the delivery worker of every replica (at commit).
SELECT pg_notify($1, '')
