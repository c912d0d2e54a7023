-- A page of shops with their latest scorecard's headline columns, sorted for ranking.
-- $1 industry, $2 min and $3 max service score, $8 only these shops (a merchant's):
-- each null when not asked for. A page continues after ($4 missing, $5 key, $6 shop
-- id), the last row of the page before; at most $7 rows.
-- The sort is filled in by `store::shops::ranked` from fixed fragments that the sort
-- and order choose ({missing}, {key}, {after}, {order_by}): sorting by shop id, a
-- fixed ORDER BY lets Postgres walk the primary key and stop after one page, where one
-- statement for every sort would read the latest card of every shop first.
SELECT * FROM (
    SELECT s.shop_id, s.name, s.industry, s.platform, s.created_at, f.first_event_at,
           c.as_of, c.service_score, c.stars, c.credit_points, c.credit_level_index,
           c.dsr_description, c.dsr_service, c.dsr_logistics, c.cs_tier,
           {missing} AS missing, {key} AS key
    FROM shops s
    LEFT JOIN shop_first_event f USING (shop_id)
    LEFT JOIN LATERAL (
        SELECT * FROM scorecards c WHERE c.shop_id = s.shop_id ORDER BY c.as_of DESC LIMIT 1
    ) c ON true
    WHERE ($1::text IS NULL OR s.industry = $1)
      AND ($2::float8 IS NULL OR c.service_score >= $2)
      AND ($3::float8 IS NULL OR c.service_score <= $3)
      AND ($8::text[] IS NULL OR s.shop_id = ANY($8))
) ranked
WHERE ($6::text IS NULL OR {after})
ORDER BY {order_by} LIMIT $7
