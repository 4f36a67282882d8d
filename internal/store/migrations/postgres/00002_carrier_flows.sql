-- +goose Up
-- The carrier's handle on a confirmation it owns (CAMARA prepared payment,
-- token API authorization), and a payment method's sealed charging token.
ALTER TABLE charges ADD COLUMN authorization_ref TEXT;
ALTER TABLE payment_methods ADD COLUMN authorization_ref TEXT;
ALTER TABLE payment_methods ADD COLUMN token_enc TEXT;
CREATE INDEX charges_carrier_reference ON charges (carrier, carrier_reference);

-- Every carrier callback, recorded before it is acknowledged; the unique
-- key makes a repeated message change nothing. Unmatched ones wait for
-- settlement.
CREATE TABLE carrier_messages (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    carrier           TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    kind              TEXT NOT NULL,
    client_reference  TEXT NOT NULL DEFAULT '',
    carrier_reference TEXT NOT NULL DEFAULT '',
    outcome           TEXT NOT NULL DEFAULT '',
    matched           BOOLEAN NOT NULL,
    body              BYTEA NOT NULL,
    occurred_at       TIMESTAMPTZ,
    received_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (carrier, message_id)
);

-- +goose Down
DROP TABLE carrier_messages;
DROP INDEX charges_carrier_reference;
ALTER TABLE payment_methods DROP COLUMN token_enc;
ALTER TABLE payment_methods DROP COLUMN authorization_ref;
ALTER TABLE charges DROP COLUMN authorization_ref;
