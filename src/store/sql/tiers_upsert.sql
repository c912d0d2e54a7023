-- The month's tier inputs of a run's shops (arrays in the same order); status and rank
-- are set by tiers_rerank.sql over the whole month. A row whose inputs did not change
-- is left as it is (the month is usually closed, so a run rewrote 10 000 rows for
-- nothing), and `updated_at` says when they last did.
INSERT INTO cs_tiers AS c (shop_id, month, industry, scale, eligible, ineligible_reason, disqualified,
                      satisfaction_rate, ratings, cancel_reason, status,
                      shortfall_figure, shortfall_have, shortfall_need)
SELECT s, $2, i, sc, el, r, d, sr, n, c, 'eligible', sf, sh, sn
FROM unnest($1::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::bool[], $8::float8[],
            $9::int8[], $10::text[], $11::text[], $12::float8[], $13::float8[])
     AS t(s, i, sc, el, r, d, sr, n, c, sf, sh, sn)
ON CONFLICT (shop_id, month) DO UPDATE SET
    industry = excluded.industry, scale = excluded.scale,
    eligible = excluded.eligible, ineligible_reason = excluded.ineligible_reason,
    disqualified = excluded.disqualified, satisfaction_rate = excluded.satisfaction_rate,
    ratings = excluded.ratings, cancel_reason = excluded.cancel_reason,
    shortfall_figure = excluded.shortfall_figure, shortfall_have = excluded.shortfall_have,
    shortfall_need = excluded.shortfall_need, updated_at = now()
WHERE (c.industry, c.scale, c.eligible, c.ineligible_reason, c.disqualified,
       c.satisfaction_rate, c.ratings, c.cancel_reason, c.shortfall_figure,
       c.shortfall_have, c.shortfall_need)
      IS DISTINCT FROM
      (excluded.industry, excluded.scale, excluded.eligible, excluded.ineligible_reason,
       excluded.disqualified, excluded.satisfaction_rate, excluded.ratings,
       excluded.cancel_reason, excluded.shortfall_figure, excluded.shortfall_have,
       excluded.shortfall_need)
