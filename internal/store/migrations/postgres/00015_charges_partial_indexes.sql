-- +goose NO TRANSACTION
-- +goose Up
-- A charge's move to succeeded changes indexed columns, so PostgreSQL adds
-- an entry to every index of charges for it, as it did for the insert.
-- Four indexes only ever serve rows that have the value they look for:
-- indexed only where they have one, a one-tap charge writes 13 index
-- entries instead of 18 (issue 12). Built concurrently, the old ones
-- dropped after, so a live database keeps taking charges meanwhile.
-- By carrier reference (callbacks): only charges a carrier has named.
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_carrier_reference_set ON charges (carrier, carrier_reference) WHERE carrier_reference IS NOT NULL;
-- By success time (settlement's feed): only charges that succeeded.
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_carrier_succeeded_set ON charges (carrier, succeeded_at) WHERE succeeded_at IS NOT NULL;
-- By the merchant's reference (the list filter): only charges that have one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_merchant_reference_set ON charges (merchant_id, merchant_reference) WHERE merchant_reference <> '';
-- Processing since (the sweep, settlement's undecided): only processing
-- charges; the queries name the status literally, so the planner can use it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_processing ON charges (updated_at) WHERE status = 'processing';
DROP INDEX CONCURRENTLY IF EXISTS charges_carrier_reference;
DROP INDEX CONCURRENTLY IF EXISTS charges_carrier_succeeded;
DROP INDEX CONCURRENTLY IF EXISTS charges_merchant_reference;
DROP INDEX CONCURRENTLY IF EXISTS charges_status;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_carrier_reference ON charges (carrier, carrier_reference);
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_carrier_succeeded ON charges (carrier, succeeded_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_merchant_reference ON charges (merchant_id, merchant_reference);
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_status ON charges (status, updated_at);
DROP INDEX CONCURRENTLY IF EXISTS charges_carrier_reference_set;
DROP INDEX CONCURRENTLY IF EXISTS charges_carrier_succeeded_set;
DROP INDEX CONCURRENTLY IF EXISTS charges_merchant_reference_set;
DROP INDEX CONCURRENTLY IF EXISTS charges_processing;
