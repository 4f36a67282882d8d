-- +goose Up
-- Subscriber protection (package billing): monthly spending caps, the
-- subscriber's own choices and the alerts sent about them. A subscriber is
-- known only by the blind index of their phone number (msisdn_index).

-- What a subscriber chose on /my: categories they refuse to be charged for
-- (a JSON array of strings).
CREATE TABLE subscriber_preferences (
    msisdn_index       TEXT PRIMARY KEY,
    blocked_categories TEXT NOT NULL DEFAULT '[]',
    updated_at         TIMESTAMPTZ NOT NULL
);

-- The subscriber's own monthly cap per currency, below the carrier's ceiling.
CREATE TABLE subscriber_caps (
    msisdn_index TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (msisdn_index, currency)
);

-- One row per subscriber, currency, calendar month (YYYY-MM in the
-- carrier's zone) and scope: "total" (every charge), "merchant:<id>" and
-- "category:<name>". reserved is the room held by charges not failed,
-- canceled or refunded (pending ones included); spent is what succeeded,
-- net of refunds. A charge reserves with one conditional UPDATE in the
-- transaction that records it, so concurrent charges never overshoot.
CREATE TABLE spend_months (
    msisdn_index TEXT NOT NULL,
    currency     TEXT NOT NULL,
    month        TEXT NOT NULL,
    scope        TEXT NOT NULL,
    reserved     BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    spent        BIGINT NOT NULL DEFAULT 0 CHECK (spent >= 0),
    PRIMARY KEY (msisdn_index, currency, month, scope)
);

-- One row per threshold (80, 100 % of the binding cap) a subscriber's month
-- reached: its primary key is what makes each alert go out once.
CREATE TABLE spend_alerts (
    msisdn_index TEXT NOT NULL,
    currency     TEXT NOT NULL,
    month        TEXT NOT NULL,
    threshold    INTEGER NOT NULL,
    charge_id    TEXT NOT NULL,
    spent        BIGINT NOT NULL,
    cap          BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (msisdn_index, currency, month, threshold)
);

-- The month whose room a charge holds (NULL: made before caps existed).
ALTER TABLE charges ADD COLUMN spend_month TEXT;

-- +goose Down
ALTER TABLE charges DROP COLUMN spend_month;
DROP TABLE spend_alerts;
DROP TABLE spend_months;
DROP TABLE subscriber_caps;
DROP TABLE subscriber_preferences;
