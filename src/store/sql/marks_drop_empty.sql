DELETE FROM dirty_marks WHERE id = ANY($1) AND cardinality(shop_ids) = 0
