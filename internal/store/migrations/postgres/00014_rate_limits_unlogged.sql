-- +goose Up
-- rate_limits is counters that matter for a minute or two: each charge
-- bumps one, and a logged table made each bump wait for its WAL to reach
-- disk. Unlogged, a bump writes no WAL; the price is that PostgreSQL
-- empties the table after a crash, and a promoted replica starts it empty
-- (unlogged tables are not replicated): limits then count from zero again,
-- which only ever lets a few more requests through, never fewer (issue 12).
ALTER TABLE rate_limits SET UNLOGGED;

-- +goose Down
ALTER TABLE rate_limits SET LOGGED;
