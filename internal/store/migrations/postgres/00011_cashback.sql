-- +goose Up
-- Micro-cashback (package billing, issue 11): programs a merchant funds, the
-- balance each succeeded charge earns its subscriber (one lot per earning
-- charge, keyed by the blind index), what each charge spent of which lot,
-- and the charge's applied and earned amounts. Ledger entries get a kind so
-- statements can tell cashback postings apart (package settlement shows
-- them on its statements).
CREATE TABLE cashback_programs (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                  TEXT PRIMARY KEY,
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    livemode            BOOLEAN NOT NULL,
    status              TEXT NOT NULL,
    currency            TEXT NOT NULL,
    rate_bps            BIGINT NOT NULL CHECK (rate_bps > 0 AND rate_bps <= 10000),
    max_per_charge      BIGINT NOT NULL CHECK (max_per_charge > 0),
    min_amount          BIGINT NOT NULL CHECK (min_amount >= 0),
    expires_after_days  INTEGER NOT NULL CHECK (expires_after_days > 0),
    created_at          TIMESTAMPTZ NOT NULL,
    ended_at            TIMESTAMPTZ
);
-- One active program per merchant, mode and currency, whatever races.
CREATE UNIQUE INDEX cashback_programs_active ON cashback_programs (merchant_id, livemode, currency) WHERE status = 'active';
CREATE INDEX cashback_programs_merchant ON cashback_programs (merchant_id, seq);

CREATE TABLE cashback_lots (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    charge_id     TEXT PRIMARY KEY REFERENCES charges (id),
    program_id    TEXT NOT NULL REFERENCES cashback_programs (id),
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    livemode      BOOLEAN NOT NULL,
    currency      TEXT NOT NULL,
    msisdn_index  TEXT NOT NULL,
    earned        BIGINT NOT NULL CHECK (earned > 0),
    remaining     BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= earned),
    taken_back    BIGINT NOT NULL DEFAULT 0,
    expired       BIGINT NOT NULL DEFAULT 0,
    expires_at    TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX cashback_lots_balance ON cashback_lots (msisdn_index, merchant_id, currency, expires_at);
CREATE INDEX cashback_lots_due ON cashback_lots (expires_at) WHERE remaining > 0;

CREATE TABLE cashback_uses (
    charge_id      TEXT NOT NULL,
    lot_charge_id  TEXT NOT NULL REFERENCES cashback_lots (charge_id),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    restored       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (charge_id, lot_charge_id)
);

ALTER TABLE charges ADD COLUMN cashback_applied BIGINT NOT NULL DEFAULT 0;
ALTER TABLE charges ADD COLUMN cashback_earned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE settlement_statements ADD COLUMN cashback_funded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE settlement_statements ADD COLUMN cashback_applied BIGINT NOT NULL DEFAULT 0;
ALTER TABLE settlement_statements ADD COLUMN cashback_expired BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE settlement_statements DROP COLUMN cashback_expired;
ALTER TABLE settlement_statements DROP COLUMN cashback_applied;
ALTER TABLE settlement_statements DROP COLUMN cashback_funded;
ALTER TABLE ledger_entries DROP COLUMN kind;
ALTER TABLE charges DROP COLUMN cashback_earned;
ALTER TABLE charges DROP COLUMN cashback_applied;
DROP TABLE cashback_uses;
DROP TABLE cashback_lots;
DROP TABLE cashback_programs;
