-- The webhook outbox (issue 25). A recompute writes the grade changes it makes into
-- `webhook_events` in its own transaction, with one `webhook_messages` row for each
-- enabled endpoint that wants the event; the delivery worker of every replica claims
-- due messages (`FOR UPDATE SKIP LOCKED`) and records each attempt.

-- Each shop's standing as events last described it: the next recompute's card is
-- compared with it. A shop's first card sets it and emits nothing.
CREATE TABLE webhook_standings (
    shop_id text PRIMARY KEY,
    as_of timestamptz NOT NULL,
    -- JSON text of `webhook::standing::Standing`.
    standing text NOT NULL
);

CREATE TABLE webhook_events (
    -- `msg_…`, a digest of (shop, type, subject, as_of, data): the same change found
    -- again by a re-run of the same `as_of` is the same event, written once.
    id text PRIMARY KEY,
    event_type text NOT NULL,
    -- Null for events about an endpoint (`endpoint.disabled`).
    shop_id text,
    as_of timestamptz,
    run_id bigint,
    -- The body every delivery sends, exactly (the signature covers these bytes).
    payload text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TABLE webhook_messages (
    endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    -- `pending` (due at `next_attempt_at`), `delivered`, or `failed` (every attempt of
    -- the schedule failed, or the endpoint answered 410).
    status text NOT NULL DEFAULT 'pending',
    -- Attempts made; a claim counts its attempt before it is made, so the count never
    -- lags behind what a receiver may have seen.
    attempts integer NOT NULL DEFAULT 0,
    -- `attempts` when the current round of the retry schedule began (a resend or a
    -- recover starts a new round).
    round_start integer NOT NULL DEFAULT 0,
    -- When pending: when it is due. A claim moves it past the attempt's lease, so a
    -- worker that dies mid-attempt leaves it due again once the lease has run out.
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_messages_event ON webhook_messages (event_id);

CREATE TABLE webhook_attempts (
    id bigserial PRIMARY KEY,
    endpoint_id text NOT NULL,
    event_id text NOT NULL,
    attempt integer NOT NULL,
    started_at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    -- `delivered`, `gone` or `failed` (`webhook::schedule::Outcome`).
    outcome text NOT NULL,
    status_code integer,
    -- The first KiB of the answer's body, or why there was no answer.
    response text NOT NULL,
    FOREIGN KEY (endpoint_id, event_id) REFERENCES webhook_messages ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (endpoint_id, event_id, id);

-- Since when every attempt to the endpoint has failed (null after a success): past the
-- configured span the endpoint is disabled.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since timestamptz;
