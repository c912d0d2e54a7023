SELECT shop_id, array_agg(DISTINCT date_trunc('month', occurred_at, 'UTC'))
FROM events
WHERE shop_id = ANY($1) AND occurred_at <= $2
GROUP BY shop_id
