namespace Broker.Ingress.Guardrails;

/// <summary>The decision recorded for one guardrail run (lower case in logs, metrics and spend metadata).</summary>
public enum GuardrailAction
{
    Allowed,
    Masked,
    Blocked,

    /// <summary>An external guardrail could not be asked (down, refused, bad answer): the request fails closed.</summary>
    Unavailable,
}
