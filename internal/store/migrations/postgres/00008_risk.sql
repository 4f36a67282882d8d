-- +goose Up
-- Risk rules (billing/risk.go). A charge a rule declined is recorded failed
-- with failure_code risk_declined and the rule's stable name here.
ALTER TABLE charges ADD COLUMN risk_rule TEXT;
-- GET /v1/risk/reviews: the declined charges, newest first.
CREATE INDEX charges_risk_review ON charges (seq) WHERE risk_rule IS NOT NULL;
-- The rules read one number's recent history (velocity, cash-out).
CREATE INDEX charges_msisdn_created ON charges (msisdn_index, created_at);

-- An admin cleared a number: the rules count its history only from
-- cleared_at on. One row per number, keyed by the blind index only.
CREATE TABLE risk_clearances (
    msisdn_index  TEXT PRIMARY KEY,
    msisdn_masked TEXT NOT NULL,
    cleared_at    TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE risk_clearances;
DROP INDEX charges_msisdn_created;
DROP INDEX charges_risk_review;
ALTER TABLE charges DROP COLUMN risk_rule;
