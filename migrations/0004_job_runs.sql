-- SPEC §6: every run is on record. A scheduled run owns a slot (`dirty`: the start of
-- the interval its tick fell in; `daily`: the local date), and (kind, slot) is unique so
-- no slot runs twice across replicas; a failed or abandoned slot is run again by
-- updating its row. Runs asked for by ops (`recompute`, from the API or the CLI) have
-- no slot. While a run is `running`, the session running it holds the advisory lock
-- (class, id): a `running` row whose lock can be taken was left by a
-- replica that died, and the next scheduler tick takes it over. The lock class is
-- `RUN_LOCK_CLASS` in src/jobs/runs.rs.
CREATE TABLE job_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('dirty', 'daily', 'recompute')),
    slot         text,
    as_of        timestamptz NOT NULL,
    replica      text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    duration_ms  bigint,
    shops_scored integer,
    outcome      text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed')),
    error        text,
    CHECK ((slot IS NULL) = (kind = 'recompute')),
    CHECK ((outcome = 'running') = (finished_at IS NULL)),
    UNIQUE (kind, slot)
);

-- `GET /v1/jobs?kind=&outcome=` pages newest first; the scheduler looks for `running`.
CREATE INDEX job_runs_kind ON job_runs (kind, id DESC);
CREATE INDEX job_runs_running ON job_runs (id) WHERE outcome = 'running';
