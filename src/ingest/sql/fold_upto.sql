SELECT (SELECT max(id) FROM orders_to_fold), (SELECT max(id) FROM conversations_to_fold)
