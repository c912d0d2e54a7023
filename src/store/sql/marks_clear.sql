UPDATE dirty_marks
SET shop_ids = ARRAY(SELECT s FROM unnest(shop_ids) AS s WHERE s <> ALL($2))
WHERE id = ANY($1) AND shop_ids && $2
