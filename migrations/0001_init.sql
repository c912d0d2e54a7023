-- shopscore schema. Every primary and unique key starts with shop_id so that the
-- schema can be sharded by shop. Identifier columns use COLLATE "C": SPEC §1 compares
-- ids as byte strings, and "C" makes ORDER BY / comparisons do exactly that.

CREATE TABLE shops (
    shop_id        text COLLATE "C" PRIMARY KEY,
    name           text,
    industry       text NOT NULL DEFAULT 'unassigned',
    platform       text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    first_event_at timestamptz,
    -- set on ingest, cleared by the recompute that scored the shop after it
    dirty_since    timestamptz
);
CREATE INDEX shops_industry ON shops (industry, shop_id);
CREATE INDEX shops_dirty ON shops (dirty_since) WHERE dirty_since IS NOT NULL;

-- Append-only raw events: the truth every derived table is rebuilt from.
CREATE TABLE events (
    shop_id      text COLLATE "C" NOT NULL,
    event_id     text COLLATE "C" NOT NULL,
    type         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    data         jsonb NOT NULL,
    content_hash bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, event_id)
);

-- Entity projections. "Earliest wins" columns keep the earliest event (and its id for
-- ties); kinds where every event counts, or the latest counts, keep one row per event.
CREATE TABLE orders (
    shop_id          text COLLATE "C" NOT NULL,
    order_id         text COLLATE "C" NOT NULL,
    created_at       timestamptz,
    created_eid      text COLLATE "C",
    buyer_id         text COLLATE "C",
    amount_cents     bigint,
    currency         text,
    item_id          text COLLATE "C",
    paid_at          timestamptz,
    shipped_at       timestamptz,
    delivered_at     timestamptz,
    cancelled_at     timestamptz,
    cancelled_eid    text COLLATE "C",
    cancel_initiator text,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX orders_created ON orders (shop_id, created_at);

CREATE TABLE reviews (
    shop_id          text COLLATE "C" NOT NULL,
    order_id         text COLLATE "C" NOT NULL,
    event_id         text COLLATE "C" NOT NULL,
    occurred_at      timestamptz NOT NULL,
    buyer_id         text COLLATE "C" NOT NULL,
    rating           smallint NOT NULL, -- +1 positive, 0 neutral, -1 negative
    dsr_description  smallint,
    dsr_service      smallint,
    dsr_logistics    smallint,
    PRIMARY KEY (shop_id, order_id, event_id)
);
CREATE INDEX reviews_time ON reviews (shop_id, occurred_at);

CREATE TABLE refunds (
    shop_id       text COLLATE "C" NOT NULL,
    refund_id     text COLLATE "C" NOT NULL,
    requested_at  timestamptz,
    requested_eid text COLLATE "C",
    order_id      text COLLATE "C",
    reason        text,
    amount_cents  bigint,
    completed_at  timestamptz,
    rejected_at   timestamptz,
    PRIMARY KEY (shop_id, refund_id)
);
CREATE INDEX refunds_requested ON refunds (shop_id, requested_at);

CREATE TABLE chat_messages (
    shop_id         text COLLATE "C" NOT NULL,
    conversation_id text COLLATE "C" NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    occurred_at     timestamptz NOT NULL,
    sender          text NOT NULL,
    agent_id        text COLLATE "C",
    PRIMARY KEY (shop_id, conversation_id, event_id)
);
CREATE INDEX chat_messages_conv_time ON chat_messages (shop_id, conversation_id, occurred_at, event_id);
CREATE INDEX chat_messages_buyer_time ON chat_messages (shop_id, occurred_at) WHERE sender = 'buyer';

CREATE TABLE chat_ratings (
    shop_id         text COLLATE "C" NOT NULL,
    conversation_id text COLLATE "C" NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    occurred_at     timestamptz NOT NULL,
    satisfaction    text NOT NULL,
    PRIMARY KEY (shop_id, conversation_id, event_id)
);
CREATE INDEX chat_ratings_time ON chat_ratings (shop_id, occurred_at);

CREATE TABLE agent_status (
    shop_id     text COLLATE "C" NOT NULL,
    agent_id    text COLLATE "C" NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    occurred_at timestamptz NOT NULL,
    online      boolean NOT NULL,
    PRIMARY KEY (shop_id, agent_id, event_id)
);
CREATE INDEX agent_status_time ON agent_status (shop_id, occurred_at);

CREATE TABLE complaints (
    shop_id        text COLLATE "C" NOT NULL,
    complaint_id   text COLLATE "C" NOT NULL,
    opened_at      timestamptz,
    opened_eid     text COLLATE "C",
    category       text,
    order_id       text COLLATE "C",
    accepted_at    timestamptz,
    first_followup_at timestamptz,
    resolved_at    timestamptz,
    resolved_eid   text COLLATE "C",
    outcome        text,
    ruled_against  boolean,
    verified_at    timestamptz,
    verified_eid   text COLLATE "C",
    conduct        text,
    PRIMARY KEY (shop_id, complaint_id)
);
CREATE INDEX complaints_opened ON complaints (shop_id, opened_at);
CREATE INDEX complaints_verified ON complaints (shop_id, verified_at) WHERE verified_at IS NOT NULL;

-- Every follow-up counts; the earliest one is also folded into complaints.first_followup_at.
CREATE TABLE complaint_followups (
    shop_id      text COLLATE "C" NOT NULL,
    complaint_id text COLLATE "C" NOT NULL,
    event_id     text COLLATE "C" NOT NULL,
    occurred_at  timestamptz NOT NULL,
    PRIMARY KEY (shop_id, complaint_id, event_id)
);

CREATE TABLE integrity_flags (
    shop_id     text COLLATE "C" NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    occurred_at timestamptz NOT NULL,
    kind        text NOT NULL,
    note        text,
    PRIMARY KEY (shop_id, event_id)
);
CREATE INDEX integrity_flags_time ON integrity_flags (shop_id, occurred_at);

-- API keys: only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id           text COLLATE "C" PRIMARY KEY,
    name         text,
    role         text NOT NULL CHECK (role IN ('admin', 'ops', 'ingest', 'merchant')),
    shops        text[] NOT NULL DEFAULT '{}',
    secret_hash  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Scorecard snapshots, one per shop and as_of.
CREATE TABLE scorecards (
    shop_id     text COLLATE "C" NOT NULL,
    as_of       timestamptz NOT NULL,
    computed_at timestamptz NOT NULL,
    policy_version text NOT NULL,
    body        jsonb NOT NULL,
    -- history columns, so the time series needs no JSON digging
    service_score double precision,
    stars       smallint,
    credit_points bigint NOT NULL,
    credit_level_index smallint NOT NULL,
    dsr_description double precision,
    dsr_service double precision,
    dsr_logistics double precision,
    cs_tier     text,
    PRIMARY KEY (shop_id, as_of)
);

-- Each shop's latest rolling figures: industry averages and benchmarks are computed
-- over these, so a partial recompute compares against every other shop's latest figures.
CREATE TABLE shop_figures (
    shop_id     text COLLATE "C" PRIMARY KEY,
    industry    text NOT NULL,
    as_of       timestamptz NOT NULL,
    service_score double precision,
    indicators  jsonb NOT NULL,
    dsr_description double precision,
    dsr_service double precision,
    dsr_logistics double precision
);
CREATE INDEX shop_figures_industry ON shop_figures (industry);

-- Gold customer-service team tiers per shop and month (the month the tier was earned).
CREATE TABLE cs_tiers (
    shop_id           text COLLATE "C" NOT NULL,
    month             text NOT NULL, -- YYYY-MM
    industry          text NOT NULL,
    scale             text NOT NULL,
    eligible          boolean NOT NULL,
    ineligible_reason text,
    disqualified      boolean NOT NULL,
    satisfaction_rate double precision,
    ratings           bigint NOT NULL,
    rank              integer,
    cohort_size       integer NOT NULL DEFAULT 0,
    tier              text NOT NULL DEFAULT 'none',
    cancel_reason     text,
    status            text NOT NULL,
    reason            text,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, month)
);
CREATE INDEX cs_tiers_month ON cs_tiers (month, industry, tier);
