namespace Broker.Config.Model;

/// <summary>When a guardrail runs (<c>mode</c>): before the request is queued, beside the provider call, or on the answer.</summary>
[Flags]
public enum GuardrailModes
{
    None = 0,

    /// <summary>pre_call: before anything is queued; may block or rewrite the request.</summary>
    PreCall = 1,

    /// <summary>during_call: beside the provider call; may block (the answer is withheld until it passes), never rewrites.</summary>
    DuringCall = 2,

    /// <summary>post_call: on the answer (for streams, on the assembled text before the last event).</summary>
    PostCall = 4,
}
