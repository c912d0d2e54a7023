-- A request's events, in key order, as the source of the projections (`project.rs`
-- fills in `{on_conflict}`: nothing, or `ON CONFLICT (shop_id, event_id) DO NOTHING`).
INSERT INTO events (shop_id, event_id, type, occurred_at, data, content_hash)
SELECT s, e, t, o, d::jsonb, h
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::bytea[])
     AS u(s, e, t, o, d, h)
{on_conflict}
RETURNING *
