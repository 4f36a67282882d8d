-- +goose Up
-- Subscriptions and scheduled one-tap charges (package billing, issue 11).
-- A subscription keeps only the blind index and the masked number; the
-- sealed number stays on its payment method, whose consent it builds on.
CREATE TABLE subscriptions (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL UNIQUE,
    merchant_id           TEXT NOT NULL REFERENCES merchants (id),
    idempotency_key       TEXT NOT NULL,
    livemode              BOOLEAN NOT NULL,
    status                TEXT NOT NULL,
    payment_method_id     TEXT NOT NULL REFERENCES payment_methods (id),
    carrier               TEXT NOT NULL,
    msisdn_index          TEXT NOT NULL,
    msisdn_masked         TEXT NOT NULL,
    amount                BIGINT NOT NULL CHECK (amount > 0),
    currency              TEXT NOT NULL,
    billing_interval      TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    category              TEXT NOT NULL DEFAULT '',
    start_at              TIMESTAMP,
    -- set at confirmation: period n starts n intervals after anchor_at, in
    -- the carrier's zone, keeping the anchor's day of month where it exists
    anchor_at             TIMESTAMP,
    period                INTEGER NOT NULL DEFAULT 0,  -- the period whose charge is next (or being retried)
    attempt               INTEGER NOT NULL DEFAULT 0,  -- failed charges of that period so far
    current_period_start  TIMESTAMP,
    current_period_end    TIMESTAMP,
    next_charge_at        TIMESTAMP,
    latest_charge_id      TEXT,
    code_hash             TEXT,
    code_expires_at       TIMESTAMP,
    code_attempts         INTEGER NOT NULL DEFAULT 0,
    cancellation_reason   TEXT,
    canceled_at           TIMESTAMP,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX subscriptions_idempotency ON subscriptions (merchant_id, idempotency_key);
CREATE INDEX subscriptions_merchant ON subscriptions (merchant_id, seq);
CREATE INDEX subscriptions_due ON subscriptions (status, next_charge_at);
CREATE INDEX subscriptions_payment_method ON subscriptions (payment_method_id);
CREATE INDEX subscriptions_msisdn ON subscriptions (msisdn_index);

-- A period's charge: its Idempotency-Key is sub_…:period:attempt, and no
-- period ever has two charges that may bill (only failed or canceled ones
-- let a retry in), whatever runs concurrently.
ALTER TABLE charges ADD COLUMN subscription_id TEXT REFERENCES subscriptions (id);
ALTER TABLE charges ADD COLUMN subscription_period INTEGER;
CREATE UNIQUE INDEX charges_subscription_period ON charges (subscription_id, subscription_period)
    WHERE subscription_id IS NOT NULL AND status NOT IN ('failed', 'canceled');

-- A scheduled one-tap charge runs at scheduled_for.
ALTER TABLE charges ADD COLUMN scheduled_for TIMESTAMP;

-- +goose Down
DROP INDEX charges_subscription_period;
ALTER TABLE charges DROP COLUMN scheduled_for;
ALTER TABLE charges DROP COLUMN subscription_period;
ALTER TABLE charges DROP COLUMN subscription_id;
DROP TABLE subscriptions;
