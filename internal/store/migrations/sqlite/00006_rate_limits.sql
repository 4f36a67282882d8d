-- +goose Up
-- Shared rate limits (package ratelimit): one row per limited thing, e.g.
-- confirmation codes to one phone number (keyed by its blind index, never
-- the number). value is GCRA's theoretical arrival time and expires_at when the row
-- stops mattering, both in Unix nanoseconds of the gateway's clock;
-- a row past expires_at counts as absent and is overwritten or swept.
CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    value      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);

-- +goose Down
DROP TABLE rate_limits;
