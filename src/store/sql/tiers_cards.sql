-- The tier rows of month $1 for the shops $2, as the scorecards show them.
SELECT shop_id, month, tier, status, reason, satisfaction_rate, ratings, rank, industry, scale,
       cohort_size, disqualified, shortfall_figure, shortfall_have, shortfall_need
FROM cs_tiers WHERE month = $1 AND shop_id = ANY($2)
