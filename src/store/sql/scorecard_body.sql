-- A shop's latest card body as of $2 (the latest of all when $2 is null), as stored.
SELECT body FROM scorecards
WHERE shop_id = $1 AND ($2::timestamptz IS NULL OR as_of <= $2)
ORDER BY as_of DESC LIMIT 1
