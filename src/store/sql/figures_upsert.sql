-- The targets' rolling figures as of $3, one row per shop (arrays in shop order).
INSERT INTO shop_figures (shop_id, industry, as_of, service_score, indicators,
                          dsr_description, dsr_service, dsr_logistics)
SELECT s, i, $3, sc, ind, a, b, c
FROM unnest($1::text[], $2::text[], $4::float8[], $5::jsonb[], $6::float8[], $7::float8[], $8::float8[])
     AS t(s, i, sc, ind, a, b, c)
ON CONFLICT (shop_id) DO UPDATE SET
    industry = excluded.industry, as_of = excluded.as_of,
    service_score = excluded.service_score, indicators = excluded.indicators,
    dsr_description = excluded.dsr_description, dsr_service = excluded.dsr_service,
    dsr_logistics = excluded.dsr_logistics
