DECLARE held_cursor NO SCROLL CURSOR FOR
SELECT shop_id, industry, figures FROM held_figures
