-- Key lifecycle (issue 27): an optional expiry, rotation with a grace period for the
-- old secret, the last four characters of the key for a masked listing (the key itself
-- is never stored), and a per-key request limit (null: the configured default).
ALTER TABLE api_keys
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN secret_last4 text,
    ADD COLUMN rotated_at timestamptz,
    ADD COLUMN previous_secret_hash bytea,
    ADD COLUMN previous_valid_until timestamptz,
    ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0);
