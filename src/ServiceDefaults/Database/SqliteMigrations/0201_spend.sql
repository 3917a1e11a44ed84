-- SQLite twin of Migrations/0201_spend.sql (types as in 0001_identity.sql; request ids are uuid text).

CREATE TABLE broker_spend_logs (
    request_id         TEXT PRIMARY KEY,
    key_hash           TEXT,
    key_alias          TEXT,
    user_id            TEXT,
    team_id            TEXT,
    end_user           TEXT,
    model_group        TEXT    NOT NULL,
    deployment_id      TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    total_tokens       INTEGER NOT NULL,
    cost               TEXT    NOT NULL DEFAULT '0',
    price_known        INTEGER NOT NULL DEFAULT 1,
    start_time         TEXT    NOT NULL,
    end_time           TEXT    NOT NULL,
    latency_ms         REAL    NOT NULL,
    ttft_ms            REAL,
    cache_hit          INTEGER NOT NULL DEFAULT 0,
    status             TEXT    NOT NULL,
    error_class        TEXT,
    tags               TEXT    NOT NULL DEFAULT '[]',
    messages           TEXT,
    response           TEXT
);

CREATE INDEX broker_spend_logs_end_time ON broker_spend_logs (end_time);
CREATE INDEX broker_spend_logs_key ON broker_spend_logs (key_hash, end_time) WHERE key_hash IS NOT NULL;
CREATE INDEX broker_spend_logs_user ON broker_spend_logs (user_id, end_time) WHERE user_id IS NOT NULL;
CREATE INDEX broker_spend_logs_team ON broker_spend_logs (team_id, end_time) WHERE team_id IS NOT NULL;

CREATE TABLE broker_spend_counted (
    request_id  TEXT PRIMARY KEY,
    counted_at  TEXT NOT NULL
);

CREATE INDEX broker_spend_counted_at ON broker_spend_counted (counted_at);

CREATE TABLE broker_spend_totals (
    entity_type      TEXT NOT NULL,
    entity_id        TEXT NOT NULL,
    spend            TEXT NOT NULL DEFAULT '0',
    budget_duration  TEXT,
    budget_reset_at  TEXT,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (entity_type, entity_id)
);
