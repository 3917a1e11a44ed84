-- SQLite twin of Migrations/0801_spend_guardrails_decided.sql (ids as uuid text, times as fixed-width UTC text).

CREATE TABLE broker_spend_guardrails (
    request_id  TEXT PRIMARY KEY,
    guardrails  TEXT NOT NULL,
    decided_at  TEXT NOT NULL
);

CREATE INDEX broker_spend_guardrails_decided_at ON broker_spend_guardrails (decided_at);
