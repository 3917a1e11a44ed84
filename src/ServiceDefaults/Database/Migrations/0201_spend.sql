-- Spend (written only by Billing). One row per counted request; the primary key on request_id makes counting
-- idempotent: a redelivered usage event inserts nothing and adds nothing to any total.
-- Amounts are USD in numeric, never floating point.

CREATE TABLE broker_spend_logs (
    request_id         uuid PRIMARY KEY,
    key_hash           text,
    key_alias          text,
    user_id            text,
    team_id            text,
    end_user           text,
    model_group        text             NOT NULL,
    deployment_id      text             NOT NULL,
    provider           text             NOT NULL,
    prompt_tokens      integer          NOT NULL,
    completion_tokens  integer          NOT NULL,
    total_tokens       integer          NOT NULL,
    cost               numeric          NOT NULL DEFAULT 0,
    price_known        boolean          NOT NULL DEFAULT true,
    start_time         timestamptz      NOT NULL,
    end_time           timestamptz      NOT NULL,
    latency_ms         double precision NOT NULL,
    ttft_ms            double precision,
    cache_hit          boolean          NOT NULL DEFAULT false,
    status             text             NOT NULL,   -- success | failure
    error_class        text,
    tags               text[]           NOT NULL DEFAULT '{}',
    messages           jsonb,                       -- only with store_prompts_in_spend_logs
    response           jsonb
);

CREATE INDEX broker_spend_logs_end_time ON broker_spend_logs (end_time);
CREATE INDEX broker_spend_logs_key ON broker_spend_logs (key_hash, end_time) WHERE key_hash IS NOT NULL;
CREATE INDEX broker_spend_logs_user ON broker_spend_logs (user_id, end_time) WHERE user_id IS NOT NULL;
CREATE INDEX broker_spend_logs_team ON broker_spend_logs (team_id, end_time) WHERE team_id IS NOT NULL;

-- With disable_spend_logs no log row is kept, but every counted request id is, for a while, so that a
-- redelivered event is still counted once.
CREATE TABLE broker_spend_counted (
    request_id  uuid PRIMARY KEY,
    counted_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX broker_spend_counted_at ON broker_spend_counted (counted_at);

-- Running totals of entities that have no table of their own: end_user, proxy (id 'global'), tag, model group.
CREATE TABLE broker_spend_totals (
    entity_type      text           NOT NULL,
    entity_id        text           NOT NULL,
    spend            numeric        NOT NULL DEFAULT 0,
    budget_duration  text,
    budget_reset_at  timestamptz,
    updated_at       timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_type, entity_id)
);
