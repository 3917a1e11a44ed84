namespace Broker.Ingress.Guardrails;

/// <summary>A guardrail's decision: let the text through, let it through rewritten, block, or could not decide (unavailable).</summary>
public sealed record GuardrailVerdict
{
    public static readonly GuardrailVerdict Allow = new() { Action = GuardrailAction.Allowed };

    public required GuardrailAction Action { get; init; }

    /// <summary>Rewritten texts (same count and order as the call's) when <see cref="Action"/> is Masked.</summary>
    public IReadOnlyList<string>? Texts { get; init; }

    /// <summary>Why it blocked, or why it could not decide.</summary>
    public string? Reason { get; init; }

    public static GuardrailVerdict Block(string reason) => new() { Action = GuardrailAction.Blocked, Reason = reason };

    public static GuardrailVerdict Masked(IReadOnlyList<string> texts) => new() { Action = GuardrailAction.Masked, Texts = texts };

    public static GuardrailVerdict Unavailable(string reason) => new() { Action = GuardrailAction.Unavailable, Reason = reason };
}
