namespace Broker.Ingress.Guardrails;

/// <summary>What a guardrail is looking at: the request (pre_call, during_call) or the answer (post_call).</summary>
public enum GuardrailPhase
{
    Request,
    Answer,
}
