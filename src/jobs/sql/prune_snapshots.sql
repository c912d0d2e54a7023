-- One batch of shops (after $3, $4 of them): delete each shop's snapshots older than
-- $1 that are not the last of their local day (in zone $2). Returns the batch's last
-- shop (NULL when no shop was left) and how many snapshots went.
WITH batch AS (
    SELECT shop_id FROM shops WHERE shop_id > $3 ORDER BY shop_id LIMIT $4
), doomed AS (
    SELECT shop_id, as_of FROM (
        SELECT s.shop_id, s.as_of, row_number() OVER (
            PARTITION BY s.shop_id, (s.as_of AT TIME ZONE $2)::date ORDER BY s.as_of DESC) AS rn
        FROM scorecards s JOIN batch USING (shop_id) WHERE s.as_of < $1
    ) ranked WHERE rn > 1
), gone AS (
    DELETE FROM scorecards s USING doomed d
    WHERE s.shop_id = d.shop_id AND s.as_of = d.as_of RETURNING 1
)
SELECT (SELECT max(shop_id) FROM batch), (SELECT count(*) FROM gone)
