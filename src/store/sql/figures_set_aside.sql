INSERT INTO current_figures
SELECT * FROM shop_figures WHERE shop_id = ANY($1) AND as_of > $2
RETURNING shop_id
