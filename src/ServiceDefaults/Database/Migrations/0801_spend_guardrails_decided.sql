-- Guardrail decisions made after a request was queued (issue 17): during_call and post_call, decided in the Ingress once
-- the answer came back, so after the worker had recorded the request's usage. Written only by Billing, from
-- GuardrailsDecided, one row per request whichever of the two events arrives first (a redelivered event inserts
-- nothing); /spend/logs shows them after the row's own guardrails (the pre_call ones). Pruned with the spend logs.

CREATE TABLE broker_spend_guardrails (
    request_id  uuid PRIMARY KEY,
    guardrails  jsonb       NOT NULL,   -- [{"guardrail","mode","decision","latency_ms"}, ...]
    decided_at  timestamptz NOT NULL
);

CREATE INDEX broker_spend_guardrails_decided_at ON broker_spend_guardrails (decided_at);
