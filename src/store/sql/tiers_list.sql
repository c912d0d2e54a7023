-- A page of month $1's tier rows, by shop id after $4, at most $5, optionally of one
-- industry ($2) and one tier ($3).
SELECT shop_id, month, tier, status, reason, satisfaction_rate, ratings, rank, industry, scale,
       cohort_size, disqualified, shortfall_figure, shortfall_have, shortfall_need
FROM cs_tiers
WHERE month = $1 AND ($2::text IS NULL OR industry = $2) AND ($3::text IS NULL OR tier = $3)
  AND ($4::text IS NULL OR shop_id > $4)
ORDER BY shop_id LIMIT $5
