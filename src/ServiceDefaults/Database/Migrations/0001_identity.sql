-- Keys, users and teams (LiteLLM's verification tokens, users and teams). Spend columns hold the total since the
-- last budget reset; Billing adds to them, the Ingress reads them (through its cache) for budget checks.
-- Amounts are USD in numeric, never floating point.

CREATE TABLE broker_teams (
    team_id               text PRIMARY KEY,
    team_alias            text,
    models                text[]        NOT NULL DEFAULT '{}',
    max_budget            numeric(24,10),
    soft_budget           numeric(24,10),
    budget_duration       text,
    budget_reset_at       timestamptz,
    spend                 numeric(24,10) NOT NULL DEFAULT 0,
    rpm_limit             bigint,
    tpm_limit             bigint,
    max_parallel_requests integer,
    metadata              jsonb         NOT NULL DEFAULT '{}',
    blocked               boolean       NOT NULL DEFAULT false,
    created_at            timestamptz   NOT NULL DEFAULT now(),
    updated_at            timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE broker_users (
    user_id               text PRIMARY KEY,
    user_email            text,
    user_alias            text,
    user_role             text          NOT NULL DEFAULT 'internal_user',
    teams                 text[]        NOT NULL DEFAULT '{}',
    models                text[]        NOT NULL DEFAULT '{}',
    max_budget            numeric(24,10),
    soft_budget           numeric(24,10),
    budget_duration       text,
    budget_reset_at       timestamptz,
    spend                 numeric(24,10) NOT NULL DEFAULT 0,
    rpm_limit             bigint,
    tpm_limit             bigint,
    max_parallel_requests integer,
    metadata              jsonb         NOT NULL DEFAULT '{}',
    created_at            timestamptz   NOT NULL DEFAULT now(),
    updated_at            timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE broker_keys (
    token_hash            text PRIMARY KEY,           -- SHA-256 of the key, hex; the key itself is never stored
    key_name              text          NOT NULL,     -- display form: "sk-...abcd"
    key_alias             text,
    user_id               text,
    team_id               text,
    models                text[]        NOT NULL DEFAULT '{}',
    max_budget            numeric(24,10),
    soft_budget           numeric(24,10),
    budget_duration       text,
    budget_reset_at       timestamptz,
    spend                 numeric(24,10) NOT NULL DEFAULT 0,
    rpm_limit             bigint,
    tpm_limit             bigint,
    max_parallel_requests integer,
    metadata              jsonb         NOT NULL DEFAULT '{}',
    aliases               jsonb         NOT NULL DEFAULT '{}',
    allowed_routes        text[]        NOT NULL DEFAULT '{}',
    expires               timestamptz,
    blocked               boolean       NOT NULL DEFAULT false,
    created_by            text,
    created_at            timestamptz   NOT NULL DEFAULT now(),
    updated_at            timestamptz   NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX broker_keys_alias ON broker_keys (key_alias) WHERE key_alias IS NOT NULL;
CREATE INDEX broker_keys_user ON broker_keys (user_id);
CREATE INDEX broker_keys_team ON broker_keys (team_id);
