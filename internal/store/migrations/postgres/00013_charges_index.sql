-- +goose NO TRANSACTION
-- +goose Up
-- charges_msisdn_created (msisdn_index, created_at) serves every look-up by
-- number that charges_msisdn served: one index less to write on each
-- charge insert and status move (issue 12). CONCURRENTLY (outside a
-- transaction), so a deploy never holds charges' write lock while it waits.
DROP INDEX CONCURRENTLY IF EXISTS charges_msisdn;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS charges_msisdn ON charges (msisdn_index);
