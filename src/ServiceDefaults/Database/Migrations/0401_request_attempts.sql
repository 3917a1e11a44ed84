-- Attempt history (written only by Billing): one row per attempt of a request (the first, each retry and fallback),
-- for GET /request/{id}. Kept as long as the spend logs (maximum_spend_logs_retention_period).

CREATE TABLE broker_request_attempts (
    attempt_id            uuid PRIMARY KEY,     -- a redelivered event inserts nothing
    request_id            uuid             NOT NULL,
    attempt               integer          NOT NULL,
    original_model_group  text             NOT NULL,
    model_group           text             NOT NULL,
    deployment_id         text,
    status_code           integer          NOT NULL,
    error_class           text,
    started_at            timestamptz      NOT NULL,
    latency_ms            double precision NOT NULL,
    key_hash              text,
    user_id               text,
    team_id               text
);

CREATE INDEX broker_request_attempts_request ON broker_request_attempts (request_id);
CREATE INDEX broker_request_attempts_started ON broker_request_attempts (started_at);
