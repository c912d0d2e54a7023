-- Each shop's new standing as of the run's `as_of` (never replacing a later one).
INSERT INTO webhook_standings (shop_id, as_of, standing)
SELECT s.shop_id, $2, s.standing
FROM unnest($1::text[], $3::text[]) AS s(shop_id, standing)
ON CONFLICT (shop_id) DO UPDATE
    SET as_of = excluded.as_of, standing = excluded.standing
    WHERE webhook_standings.as_of <= excluded.as_of
