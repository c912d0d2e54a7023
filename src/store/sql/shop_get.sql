-- One shop, its first event time from the view `shop_first_event` (migration 0003).
SELECT shop_id, name, industry, platform, created_at,
    (SELECT f.first_event_at FROM shop_first_event f WHERE f.shop_id = shops.shop_id)
        AS first_event_at
FROM shops WHERE shop_id = $1
