-- SQLite twin of Migrations/0001_identity.sql. Types: text[] and jsonb are JSON text, numeric amounts are decimal
-- text (added up in C#, never as floating point), timestamptz is UTC ISO-8601 text of one fixed width (sorts as time).

CREATE TABLE broker_teams (
    team_id               TEXT PRIMARY KEY,
    team_alias            TEXT,
    models                TEXT    NOT NULL DEFAULT '[]',
    max_budget            TEXT,
    soft_budget           TEXT,
    budget_duration       TEXT,
    budget_reset_at       TEXT,
    spend                 TEXT    NOT NULL DEFAULT '0',
    rpm_limit             INTEGER,
    tpm_limit             INTEGER,
    max_parallel_requests INTEGER,
    metadata              TEXT    NOT NULL DEFAULT '{}',
    blocked               INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL
);

CREATE TABLE broker_users (
    user_id               TEXT PRIMARY KEY,
    user_email            TEXT,
    user_alias            TEXT,
    user_role             TEXT    NOT NULL DEFAULT 'internal_user',
    teams                 TEXT    NOT NULL DEFAULT '[]',
    models                TEXT    NOT NULL DEFAULT '[]',
    max_budget            TEXT,
    soft_budget           TEXT,
    budget_duration       TEXT,
    budget_reset_at       TEXT,
    spend                 TEXT    NOT NULL DEFAULT '0',
    rpm_limit             INTEGER,
    tpm_limit             INTEGER,
    max_parallel_requests INTEGER,
    metadata              TEXT    NOT NULL DEFAULT '{}',
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL
);

CREATE TABLE broker_keys (
    token_hash            TEXT PRIMARY KEY,
    key_name              TEXT    NOT NULL,
    key_alias             TEXT,
    user_id               TEXT,
    team_id               TEXT,
    models                TEXT    NOT NULL DEFAULT '[]',
    max_budget            TEXT,
    soft_budget           TEXT,
    budget_duration       TEXT,
    budget_reset_at       TEXT,
    spend                 TEXT    NOT NULL DEFAULT '0',
    rpm_limit             INTEGER,
    tpm_limit             INTEGER,
    max_parallel_requests INTEGER,
    metadata              TEXT    NOT NULL DEFAULT '{}',
    aliases               TEXT    NOT NULL DEFAULT '{}',
    allowed_routes        TEXT    NOT NULL DEFAULT '[]',
    expires               TEXT,
    blocked               INTEGER NOT NULL DEFAULT 0,
    created_by            TEXT,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL
);

CREATE UNIQUE INDEX broker_keys_alias ON broker_keys (key_alias) WHERE key_alias IS NOT NULL;
CREATE INDEX broker_keys_user ON broker_keys (user_id);
CREATE INDEX broker_keys_team ON broker_keys (team_id);
