-- SQLite twin of Migrations/0701_spend_guardrails.sql.

ALTER TABLE broker_spend_logs ADD COLUMN guardrails TEXT;
