-- +goose Up
-- Settlement: one run per carrier and business day reconciles the carrier's
-- file with the gateway's books. A completed run is never changed again
-- except to name the run that superseded it; a rerun is a new run.
CREATE TABLE settlement_runs (
    seq                        INTEGER PRIMARY KEY AUTOINCREMENT,
    id                         TEXT NOT NULL UNIQUE,
    carrier                    TEXT NOT NULL,
    business_date              TEXT NOT NULL,
    time_zone                  TEXT NOT NULL,
    status                     TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    source                     TEXT NOT NULL DEFAULT '',
    rerun                      BOOLEAN NOT NULL DEFAULT 0,
    supersedes                 TEXT,
    superseded_by              TEXT,
    failure_message            TEXT,
    lines_read                 BIGINT NOT NULL DEFAULT 0,
    matched_count              BIGINT NOT NULL DEFAULT 0,
    matched_amount             BIGINT NOT NULL DEFAULT 0,
    missing_at_carrier_count   BIGINT NOT NULL DEFAULT 0,
    missing_at_carrier_amount  BIGINT NOT NULL DEFAULT 0,
    missing_at_gateway_count   BIGINT NOT NULL DEFAULT 0,
    missing_at_gateway_amount  BIGINT NOT NULL DEFAULT 0,
    amount_mismatch_count      BIGINT NOT NULL DEFAULT 0,
    amount_mismatch_amount     BIGINT NOT NULL DEFAULT 0,
    status_mismatch_count      BIGINT NOT NULL DEFAULT 0,
    status_mismatch_amount     BIGINT NOT NULL DEFAULT 0,
    duplicate_count            BIGINT NOT NULL DEFAULT 0,
    duplicate_amount           BIGINT NOT NULL DEFAULT 0,
    resolved_count             BIGINT NOT NULL DEFAULT 0,
    resolved_amount            BIGINT NOT NULL DEFAULT 0,
    created_at                 TIMESTAMP NOT NULL,
    heartbeat_at               TIMESTAMP NOT NULL,
    completed_at               TIMESTAMP
);
-- One run at a time per carrier and day, whichever node starts it.
CREATE UNIQUE INDEX settlement_runs_one_running ON settlement_runs (carrier, business_date) WHERE status = 'running';
-- One current (not superseded) completed run per carrier and day.
CREATE UNIQUE INDEX settlement_runs_current ON settlement_runs (carrier, business_date) WHERE status = 'completed' AND superseded_by IS NULL;
CREATE INDEX settlement_runs_day ON settlement_runs (business_date, seq);

CREATE TABLE settlement_discrepancies (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id             TEXT NOT NULL REFERENCES settlement_runs (id),
    kind               TEXT NOT NULL,
    object             TEXT NOT NULL CHECK (object IN ('charge', 'refund')),
    charge_id          TEXT,
    refund_id          TEXT,
    merchant_id        TEXT,
    client_reference   TEXT NOT NULL DEFAULT '',
    carrier_reference  TEXT NOT NULL DEFAULT '',
    currency           TEXT NOT NULL DEFAULT '',
    gateway_amount     BIGINT,
    carrier_amount     BIGINT,
    gateway_status     TEXT,
    carrier_status     TEXT,
    line_no            BIGINT,
    detail             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX settlement_discrepancies_run ON settlement_discrepancies (run_id, seq);

CREATE TABLE settlement_statements (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id             TEXT NOT NULL REFERENCES settlement_runs (id),
    merchant_id        TEXT NOT NULL,
    currency           TEXT NOT NULL,
    charges_count      BIGINT NOT NULL,
    refunds_count      BIGINT NOT NULL,
    gross              BIGINT NOT NULL,
    refunds            BIGINT NOT NULL,
    carrier_fees       BIGINT NOT NULL,
    gateway_fees       BIGINT NOT NULL,
    net                BIGINT NOT NULL,
    carrier_share_bps  BIGINT NOT NULL,
    gateway_fee_bps    BIGINT NOT NULL,
    UNIQUE (run_id, merchant_id, currency)
);

-- What a business day's reconciliation and statements read.
CREATE INDEX charges_carrier_succeeded ON charges (carrier, succeeded_at);
CREATE INDEX refunds_carrier_reference ON refunds (carrier_reference);
CREATE INDEX refunds_succeeded ON refunds (status, updated_at);
CREATE INDEX ledger_entries_created ON ledger_entries (created_at);

-- +goose Down
DROP INDEX ledger_entries_created;
DROP INDEX refunds_succeeded;
DROP INDEX refunds_carrier_reference;
DROP INDEX charges_carrier_succeeded;
DROP TABLE settlement_statements;
DROP TABLE settlement_discrepancies;
DROP TABLE settlement_runs;
