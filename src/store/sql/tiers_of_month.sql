SELECT shop_id, industry, scale, eligible, ineligible_reason, disqualified,
       satisfaction_rate, ratings, cancel_reason
FROM cs_tiers
WHERE month = $1
