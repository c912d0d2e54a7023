-- Puts back the current (later) figures a look-back set aside in current_figures.
UPDATE shop_figures f SET
    industry = c.industry, as_of = c.as_of, service_score = c.service_score,
    indicators = c.indicators, dsr_description = c.dsr_description,
    dsr_service = c.dsr_service, dsr_logistics = c.dsr_logistics
FROM current_figures c
WHERE f.shop_id = c.shop_id
