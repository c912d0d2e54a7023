-- A shop's snapshots' headline columns, oldest first, within [$2, $3], after $4, at
-- most $5 of them.
SELECT as_of, service_score, stars, credit_points, credit_level_index,
       dsr_description, dsr_service, dsr_logistics, cs_tier
FROM scorecards WHERE shop_id = $1
  AND ($2::timestamptz IS NULL OR as_of >= $2) AND ($3::timestamptz IS NULL OR as_of <= $3)
  AND ($4::timestamptz IS NULL OR as_of > $4)
ORDER BY as_of LIMIT $5
