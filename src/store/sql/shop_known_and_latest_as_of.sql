-- Whether the shop is known, and the as_of of its latest scorecard (null without one).
SELECT EXISTS (SELECT 1 FROM shops WHERE shop_id = $1),
       (SELECT max(as_of) FROM scorecards WHERE shop_id = $1)
