-- The values SPEC fixes, checked where they are stored (`src/domain.rs` holds the same
-- lists as enums; ingest validates before anything is written, so these only catch a
-- writer that forgets to). Added NOT VALID and then validated: existing rows are checked
-- without blocking writers for longer than the validating scan's weaker lock.

ALTER TABLE orders ADD CONSTRAINT orders_cancel_initiator_known
    CHECK (cancel_initiator IN ('buyer', 'seller', 'platform')) NOT VALID;
ALTER TABLE order_events ADD CONSTRAINT order_events_initiator_known
    CHECK (initiator IN ('buyer', 'seller', 'platform')) NOT VALID;
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_known
    CHECK (reason IN ('not_shipped', 'not_received', 'quality', 'wrong_item', 'changed_mind', 'other')) NOT VALID;
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_sender_known
    CHECK (sender IN ('buyer', 'agent', 'bot')) NOT VALID;
ALTER TABLE chat_ratings ADD CONSTRAINT chat_ratings_satisfaction_known
    CHECK (satisfaction IN ('very_satisfied', 'satisfied', 'neutral', 'unsatisfied', 'very_unsatisfied')) NOT VALID;
ALTER TABLE complaints ADD CONSTRAINT complaints_outcome_known
    CHECK (outcome IN ('resolved', 'irregular')) NOT VALID;
ALTER TABLE cs_tiers ADD CONSTRAINT cs_tiers_tier_known
    CHECK (tier IN ('gold', 'silver', 'black', 'none')) NOT VALID;
ALTER TABLE cs_tiers ADD CONSTRAINT cs_tiers_status_known
    CHECK (status IN ('active', 'eligible', 'cancelled', 'disqualified', 'ineligible')) NOT VALID;
ALTER TABLE cs_tiers ADD CONSTRAINT cs_tiers_reasons_known
    CHECK (reason IN ('excluded_industry', 'too_few_ratings', 'gate_failed', 'verified_complaint', 'integrity_flag')
       AND ineligible_reason IN ('excluded_industry', 'too_few_ratings', 'gate_failed', 'integrity_flag')
       AND cancel_reason IN ('verified_complaint', 'integrity_flag')) NOT VALID;
ALTER TABLE scorecards ADD CONSTRAINT scorecards_cs_tier_known
    CHECK (cs_tier IN ('gold', 'silver', 'black', 'none')) NOT VALID;

ALTER TABLE orders VALIDATE CONSTRAINT orders_cancel_initiator_known;
ALTER TABLE order_events VALIDATE CONSTRAINT order_events_initiator_known;
ALTER TABLE refunds VALIDATE CONSTRAINT refunds_reason_known;
ALTER TABLE chat_messages VALIDATE CONSTRAINT chat_messages_sender_known;
ALTER TABLE chat_ratings VALIDATE CONSTRAINT chat_ratings_satisfaction_known;
ALTER TABLE complaints VALIDATE CONSTRAINT complaints_outcome_known;
ALTER TABLE cs_tiers VALIDATE CONSTRAINT cs_tiers_tier_known;
ALTER TABLE cs_tiers VALIDATE CONSTRAINT cs_tiers_status_known;
ALTER TABLE cs_tiers VALIDATE CONSTRAINT cs_tiers_reasons_known;
ALTER TABLE scorecards VALIDATE CONSTRAINT scorecards_cs_tier_known;
