-- What an ineligible shop lacked for a tier (`too_few_ratings`, `gate_failed`): the
-- figure checked, its value (null when it had none) and the threshold it had to reach.
ALTER TABLE cs_tiers
    ADD COLUMN shortfall_figure text,
    ADD COLUMN shortfall_have float8,
    ADD COLUMN shortfall_need float8;
