-- Guardrail decisions of a request (issue 17): [{"guardrail","mode","decision","latency_ms"}, ...], null when none ran.
-- Written by Billing from UsageRecorded.Guardrails; shown by /spend/logs.

ALTER TABLE broker_spend_logs ADD COLUMN guardrails jsonb;
