-- Webhook endpoints (issue 25): where grade changes are sent. The secret signs each
-- delivery (HMAC), so it is kept as it is, unlike API keys, which are only compared
-- and so stored hashed. During a rotation the previous secret signs too, until
-- `previous_until`.
CREATE TABLE webhook_endpoints (
    id text PRIMARY KEY,
    url text NOT NULL,
    -- The event types sent; empty: every type.
    event_types text[] NOT NULL DEFAULT '{}',
    -- The shops whose events are sent; empty: every shop.
    shop_ids text[] NOT NULL DEFAULT '{}',
    description text,
    secret text NOT NULL,
    previous_secret text,
    previous_until timestamptz,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
