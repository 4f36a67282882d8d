-- +goose Up
-- PostgreSQL's rate_limits becomes unlogged here (see the postgres
-- migration); SQLite has no such thing: nothing changes.
SELECT 1;

-- +goose Down
SELECT 1;
