-- Month $1's tier rows counted by cohort (industry, scale band), tier and status: the
-- ops console's tier board.
SELECT industry, scale, tier, status, count(*)::bigint AS shops
FROM cs_tiers
WHERE month = $1
GROUP BY industry, scale, tier, status
ORDER BY industry, scale, tier, status
