-- Every complaint.verified event (complaints.verified_at keeps only the earliest): a
-- tier is cancelled by *a* verification in the month it is in effect (SPEC §4.6), even
-- when the complaint had been verified before.
CREATE TABLE complaint_verifications (
    shop_id      text COLLATE "C" NOT NULL,
    complaint_id text COLLATE "C" NOT NULL,
    event_id     text COLLATE "C" NOT NULL,
    occurred_at  timestamptz NOT NULL,
    conduct      text NOT NULL,
    PRIMARY KEY (shop_id, complaint_id, event_id)
);
CREATE INDEX complaint_verifications_time ON complaint_verifications (shop_id, occurred_at);

INSERT INTO complaint_verifications (shop_id, complaint_id, event_id, occurred_at, conduct)
SELECT shop_id, data->>'complaint_id', event_id, occurred_at, data->>'conduct'
FROM events WHERE type = 'complaint.verified'
ON CONFLICT DO NOTHING;
