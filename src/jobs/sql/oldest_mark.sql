SELECT min(marked_at) FROM dirty_marks WHERE cardinality(shop_ids) > 0
