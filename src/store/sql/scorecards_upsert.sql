-- A run's scorecards as of $2 (arrays in card order); a card already stored for that
-- shop and instant is replaced.
INSERT INTO scorecards (shop_id, as_of, computed_at, policy_version, body, service_score, stars,
                        credit_points, credit_level_index, dsr_description, dsr_service,
                        dsr_logistics, cs_tier)
SELECT s, $2, $3, $4, b, sc, st, p, l, d0, d1, d2, t
FROM unnest($1::text[], $5::text[], $6::float8[], $7::int2[], $8::int8[], $9::int2[],
            $10::float8[], $11::float8[], $12::float8[], $13::text[])
     AS x(s, b, sc, st, p, l, d0, d1, d2, t)
ON CONFLICT (shop_id, as_of) DO UPDATE SET
    computed_at = excluded.computed_at, policy_version = excluded.policy_version,
    body = excluded.body, service_score = excluded.service_score, stars = excluded.stars,
    credit_points = excluded.credit_points, credit_level_index = excluded.credit_level_index,
    dsr_description = excluded.dsr_description, dsr_service = excluded.dsr_service,
    dsr_logistics = excluded.dsr_logistics, cs_tier = excluded.cs_tier
