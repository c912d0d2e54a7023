-- Seconds this server is behind its primary: 0 when it is not a standby or has
-- replayed all the WAL it received (an idle primary sends none, so the age of the last
-- replayed transaction alone would grow while nothing is behind); else the age of the
-- last transaction it replayed.
SELECT CASE
         WHEN NOT pg_is_in_recovery() THEN 0::float8
         WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0::float8
         ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, 0)
       END
