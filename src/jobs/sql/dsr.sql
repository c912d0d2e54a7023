-- DSR (SPEC §4.2): each order's first review carrying a DSR (visible at $2); per buyer,
-- shop and local calendar month only the first $5 count; then the window keeps those
-- with time > $3.
--
-- $4 holds the starts of the local months, as instants, from the month of $3 to the one
-- after $2's: `width_bucket` numbers each review's month by them. (Converting every
-- review's time to the named zone, `date_trunc('month', t AT TIME ZONE tz)`, took half
-- of the query's time.) A review before the first of them cannot share a month with
-- one in the window, so it is left out before the cap.
WITH first_dsr AS (
    SELECT DISTINCT ON (shop_id, order_id) shop_id, order_id, event_id, buyer_id, occurred_at,
           dsr_description, dsr_service, dsr_logistics
    FROM reviews
    WHERE shop_id = ANY($1) AND occurred_at <= $2 AND dsr_description IS NOT NULL
    ORDER BY shop_id, order_id, occurred_at, event_id
), capped AS (
    SELECT *, row_number() OVER (
               PARTITION BY shop_id, buyer_id, width_bucket(occurred_at, $4::timestamptz[])
               ORDER BY occurred_at, event_id) AS n
    FROM first_dsr
    WHERE occurred_at >= ($4::timestamptz[])[1]
)
SELECT shop_id, count(*) AS count,
       sum(dsr_description)::bigint AS description, sum(dsr_service)::bigint AS service,
       sum(dsr_logistics)::bigint AS logistics
FROM capped
WHERE n <= $5 AND occurred_at > $3
GROUP BY shop_id
