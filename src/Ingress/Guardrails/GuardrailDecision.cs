namespace Broker.Ingress.Guardrails;

/// <summary>One guardrail run as recorded (spend log metadata, metrics, logs): which, when, what it decided, how long it took.</summary>
public sealed record GuardrailDecision(string Guardrail, string Kind, string Mode, GuardrailAction Action, double LatencyMs);
