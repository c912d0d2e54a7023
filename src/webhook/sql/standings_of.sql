-- The standing events last described for each shop of a chunk, and whether the shop
-- has a card later than this run's `as_of` (then the run is a look-back for it).
SELECT s.id AS shop_id,
       w.standing,
       EXISTS (SELECT 1 FROM scorecards c WHERE c.shop_id = s.id AND c.as_of > $2) AS later
FROM unnest($1::text[]) AS s(id)
LEFT JOIN webhook_standings w ON w.shop_id = s.id
