INSERT INTO held_figures SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
