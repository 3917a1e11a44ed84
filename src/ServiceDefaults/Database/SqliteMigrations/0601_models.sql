-- SQLite twin of Migrations/0601_models.sql (JSON as text, times as fixed-width UTC text).

CREATE TABLE broker_models (
    id              TEXT PRIMARY KEY,
    model_name      TEXT NOT NULL,
    litellm_params  TEXT NOT NULL,
    model_info      TEXT NOT NULL DEFAULT '{}',
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX broker_models_name ON broker_models (model_name);
