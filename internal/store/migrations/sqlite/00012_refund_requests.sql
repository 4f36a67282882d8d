-- +goose Up
-- Refund requests (package billing, issue 11): a subscriber asks, from /my,
-- for a refund of one of their charges; the merchant approves (a refund
-- through the normal path) or declines. Known only by the blind index.
CREATE TABLE refund_requests (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    livemode            BOOLEAN NOT NULL,
    charge_id           TEXT NOT NULL REFERENCES charges (id),
    msisdn_index        TEXT NOT NULL,
    msisdn_masked       TEXT NOT NULL,
    amount              BIGINT NOT NULL CHECK (amount > 0),  -- what was left to refund when asked
    currency            TEXT NOT NULL,
    status              TEXT NOT NULL,                       -- pending | approved | declined
    reason              TEXT NOT NULL,
    decline_reason      TEXT,
    refund_id           TEXT REFERENCES refunds (id),
    approved_by         TEXT,                                -- merchant | auto
    approve_attempts    INTEGER NOT NULL DEFAULT 0,          -- refunds the carrier refused so far
    answered_at         TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
-- One open request per charge, whatever runs concurrently.
CREATE UNIQUE INDEX refund_requests_open ON refund_requests (charge_id) WHERE status = 'pending';
CREATE INDEX refund_requests_merchant ON refund_requests (merchant_id, seq);
CREATE INDEX refund_requests_msisdn ON refund_requests (msisdn_index);
CREATE INDEX refund_requests_pending ON refund_requests (status, created_at);

-- A merchant's refund-request settings per currency: requests for less
-- than auto_approve_below are approved at once (0: never).
CREATE TABLE refund_request_settings (
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    currency            TEXT NOT NULL,
    auto_approve_below  BIGINT NOT NULL CHECK (auto_approve_below >= 0),
    updated_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, currency)
);

-- +goose Down
DROP TABLE refund_request_settings;
DROP TABLE refund_requests;
