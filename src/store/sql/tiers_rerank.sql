-- Every row of month $1 with its rank, tier, cohort size, status and reason; rows
-- already so are not rewritten.
UPDATE cs_tiers c SET rank = t.r, tier = t.t, cohort_size = t.n, status = t.st, reason = t.why
FROM unnest($2::text[], $3::int4[], $4::text[], $5::int4[], $6::text[], $7::text[])
     AS t(s, r, t, n, st, why)
WHERE c.month = $1 AND c.shop_id = t.s
  AND (c.rank, c.tier, c.cohort_size, c.status, c.reason)
      IS DISTINCT FROM (t.r, t.t, t.n, t.st, t.why)
