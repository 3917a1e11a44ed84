-- SQLite twin of Migrations/0401_request_attempts.sql (ids as uuid text, times as fixed-width UTC text).

CREATE TABLE broker_request_attempts (
    attempt_id            TEXT PRIMARY KEY,
    request_id            TEXT    NOT NULL,
    attempt               INTEGER NOT NULL,
    original_model_group  TEXT    NOT NULL,
    model_group           TEXT    NOT NULL,
    deployment_id         TEXT,
    status_code           INTEGER NOT NULL,
    error_class           TEXT,
    started_at            TEXT    NOT NULL,
    latency_ms            REAL    NOT NULL,
    key_hash              TEXT,
    user_id               TEXT,
    team_id               TEXT
);

CREATE INDEX broker_request_attempts_request ON broker_request_attempts (request_id);
CREATE INDEX broker_request_attempts_started ON broker_request_attempts (started_at);
