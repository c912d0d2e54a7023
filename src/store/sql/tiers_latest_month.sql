-- The latest month with tier rows.
SELECT max(month) FROM cs_tiers
