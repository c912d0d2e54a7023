SELECT max(as_of) FROM scorecards WHERE shop_id = $1
