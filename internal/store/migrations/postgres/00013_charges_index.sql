-- +goose Up
-- charges_msisdn_created (msisdn_index, created_at) serves every look-up by
-- number that charges_msisdn served: one index less to write on each
-- charge insert and status move (issue 12).
DROP INDEX charges_msisdn;

-- +goose Down
CREATE INDEX charges_msisdn ON charges (msisdn_index);
