-- +goose Up
-- The subscriber's own page (package billing/mypage): sign-in codes and
-- sessions. A subscriber is known only by the blind index of their number
-- (msisdn_index) and shown it masked; neither table holds the number, a
-- code or a session token in clear.

-- A code texted to a number, waiting to be typed in the browser that
-- asked for it (browser_hash: SHA-256 of that browser's cookie).
CREATE TABLE subscriber_sign_ins (
    id             TEXT PRIMARY KEY,
    browser_hash   TEXT NOT NULL,
    msisdn_index   TEXT NOT NULL,
    msisdn_masked  TEXT NOT NULL,
    country        TEXT NOT NULL,
    code_hash      TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    expires_at     TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX subscriber_sign_ins_browser ON subscriber_sign_ins (browser_hash);
CREATE INDEX subscriber_sign_ins_expires ON subscriber_sign_ins (expires_at);

-- A signed-in browser: token_hash is SHA-256 of the session cookie.
CREATE TABLE subscriber_sessions (
    token_hash     TEXT PRIMARY KEY,
    msisdn_index   TEXT NOT NULL,
    msisdn_masked  TEXT NOT NULL,
    country        TEXT NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX subscriber_sessions_expires ON subscriber_sessions (expires_at);

-- +goose Down
DROP TABLE subscriber_sessions;
DROP TABLE subscriber_sign_ins;
