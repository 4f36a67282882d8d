-- +goose Up
-- As on PostgreSQL (see its migration): four indexes of charges hold only
-- the rows that have the value they serve.
CREATE INDEX charges_carrier_reference_set ON charges (carrier, carrier_reference) WHERE carrier_reference IS NOT NULL;
CREATE INDEX charges_carrier_succeeded_set ON charges (carrier, succeeded_at) WHERE succeeded_at IS NOT NULL;
CREATE INDEX charges_merchant_reference_set ON charges (merchant_id, merchant_reference) WHERE merchant_reference <> '';
CREATE INDEX charges_processing ON charges (updated_at) WHERE status = 'processing';
DROP INDEX charges_carrier_reference;
DROP INDEX charges_carrier_succeeded;
DROP INDEX charges_merchant_reference;
DROP INDEX charges_status;

-- +goose Down
CREATE INDEX charges_carrier_reference ON charges (carrier, carrier_reference);
CREATE INDEX charges_carrier_succeeded ON charges (carrier, succeeded_at);
CREATE INDEX charges_merchant_reference ON charges (merchant_id, merchant_reference);
CREATE INDEX charges_status ON charges (status, updated_at);
DROP INDEX charges_carrier_reference_set;
DROP INDEX charges_carrier_succeeded_set;
DROP INDEX charges_merchant_reference_set;
DROP INDEX charges_processing;
