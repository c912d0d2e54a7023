SELECT shop_id, industry, service_score, dsr_description, dsr_service, dsr_logistics
FROM shop_figures
WHERE industry = ANY($1)
ORDER BY shop_id
