-- The eligible tier rows of month $1 in industry $2 but shop $3's: a what-if ranks its
-- simulated row among them.
SELECT shop_id, scale, satisfaction_rate, ratings
FROM cs_tiers
WHERE month = $1 AND industry = $2 AND eligible AND shop_id <> $3
