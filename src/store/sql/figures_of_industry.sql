-- Every shop's current figures in one industry (what benchmarks aggregate).
SELECT as_of, service_score, indicators, dsr_description, dsr_service, dsr_logistics
FROM shop_figures WHERE industry = $1
