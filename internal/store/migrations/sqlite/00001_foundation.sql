-- +goose Up
CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    livemode    BOOLEAN NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('merchant', 'finance', 'admin')),
    merchant_id  TEXT REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);

CREATE TABLE payment_methods (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    livemode         BOOLEAN NOT NULL,
    carrier          TEXT NOT NULL,
    msisdn_enc       TEXT NOT NULL,
    msisdn_index     TEXT NOT NULL,
    msisdn_masked    TEXT NOT NULL,
    status           TEXT NOT NULL,
    code_hash        TEXT,
    code_expires_at  TIMESTAMP,
    code_attempts    INTEGER NOT NULL DEFAULT 0,
    failure_code     TEXT,
    idempotency_key  TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX payment_methods_merchant ON payment_methods (merchant_id, seq);
CREATE UNIQUE INDEX payment_methods_idempotency ON payment_methods (merchant_id, idempotency_key);

CREATE TABLE charges (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL UNIQUE,
    merchant_id           TEXT NOT NULL REFERENCES merchants (id),
    idempotency_key       TEXT NOT NULL,
    livemode              BOOLEAN NOT NULL,
    status                TEXT NOT NULL,
    amount                BIGINT NOT NULL CHECK (amount > 0),
    currency              TEXT NOT NULL,
    carrier               TEXT NOT NULL,
    msisdn_enc            TEXT NOT NULL,
    msisdn_index          TEXT NOT NULL,
    msisdn_masked         TEXT NOT NULL,
    payment_method_id     TEXT REFERENCES payment_methods (id),
    code_hash             TEXT,
    code_expires_at       TIMESTAMP,
    code_attempts         INTEGER NOT NULL DEFAULT 0,
    refunded_amount       BIGINT NOT NULL DEFAULT 0,
    refund_reserved       BIGINT NOT NULL DEFAULT 0,
    failure_code          TEXT,
    failure_message       TEXT,
    carrier_decline_code  TEXT,
    carrier_reference     TEXT,
    description           TEXT NOT NULL DEFAULT '',
    merchant_reference    TEXT NOT NULL DEFAULT '',
    category              TEXT NOT NULL DEFAULT '',
    metadata              TEXT NOT NULL DEFAULT '{}',
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    succeeded_at          TIMESTAMP,
    CHECK (refunded_amount >= 0 AND refunded_amount <= refund_reserved AND refund_reserved <= amount)
);
CREATE UNIQUE INDEX charges_idempotency ON charges (merchant_id, idempotency_key);
CREATE INDEX charges_merchant ON charges (merchant_id, seq);
CREATE INDEX charges_merchant_reference ON charges (merchant_id, merchant_reference);
CREATE INDEX charges_status ON charges (status, updated_at);
CREATE INDEX charges_msisdn ON charges (msisdn_index);

CREATE TABLE refunds (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    charge_id          TEXT NOT NULL REFERENCES charges (id),
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    idempotency_key    TEXT NOT NULL,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL,
    reason             TEXT NOT NULL DEFAULT '',
    failure_code       TEXT,
    failure_message    TEXT,
    carrier_reference  TEXT,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX refunds_idempotency ON refunds (merchant_id, idempotency_key);
CREATE INDEX refunds_charge ON refunds (charge_id, seq);

CREATE TABLE ledger_entries (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    charge_id    TEXT NOT NULL REFERENCES charges (id),
    refund_id    TEXT REFERENCES refunds (id),
    account      TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_charge ON ledger_entries (charge_id);
CREATE INDEX ledger_entries_merchant ON ledger_entries (merchant_id, created_at);

CREATE TABLE idempotency_keys (
    merchant_id       TEXT NOT NULL,
    key               TEXT NOT NULL,
    request_hash      TEXT NOT NULL,
    state             TEXT NOT NULL,
    response_status   INTEGER NOT NULL DEFAULT 0,
    response_type     TEXT NOT NULL DEFAULT '',
    response_body     BLOB,
    created_at        TIMESTAMP NOT NULL,
    locked_until      TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TABLE refunds;
DROP TABLE charges;
DROP TABLE payment_methods;
DROP TABLE api_keys;
DROP TABLE merchants;
