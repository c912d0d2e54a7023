SELECT shop_id FROM cs_tiers WHERE month = $1
