-- DSR (SPEC §4.2): each order's first review carrying a DSR (visible at $2); per buyer,
-- shop and local calendar month ($4 is the time zone) only the first $5 count; then the
-- window keeps those with time > $3.
WITH first_dsr AS (
    SELECT DISTINCT ON (shop_id, order_id) shop_id, order_id, event_id, buyer_id, occurred_at,
           dsr_description, dsr_service, dsr_logistics
    FROM reviews
    WHERE shop_id = ANY($1) AND occurred_at <= $2 AND dsr_description IS NOT NULL
    ORDER BY shop_id, order_id, occurred_at, event_id
), capped AS (
    SELECT *, row_number() OVER (
               PARTITION BY shop_id, buyer_id, date_trunc('month', occurred_at AT TIME ZONE $4)
               ORDER BY occurred_at, event_id) AS n
    FROM first_dsr
)
SELECT shop_id, count(*) AS count,
       sum(dsr_description)::bigint AS description, sum(dsr_service)::bigint AS service,
       sum(dsr_logistics)::bigint AS logistics
FROM capped
WHERE n <= $5 AND occurred_at > $3
GROUP BY shop_id
