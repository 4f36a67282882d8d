-- +goose Up
-- A charge's own callback credential (CAMARA's sinkCredential token), kept
-- only as its SHA-256 (hex): a notification is applied only if it presents
-- the token made for that charge.
ALTER TABLE charges ADD COLUMN sink_token_hash TEXT;

-- +goose Down
ALTER TABLE charges DROP COLUMN sink_token_hash;
