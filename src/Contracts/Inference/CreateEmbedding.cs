using Broker.Contracts.Identity;

namespace Broker.Contracts.Inference;

/// <summary>Command sent by the Ingress to a model group's queue: create embeddings (OpenAI <c>/v1/embeddings</c>).</summary>
public sealed record CreateEmbedding
{
    public required Guid RequestId { get; init; }

    public required string ModelGroup { get; init; }

    public required string RequestedModel { get; init; }

    /// <summary>The client's request body as OpenAI JSON.</summary>
    public required string Body { get; init; }

    public required DateTimeOffset Deadline { get; init; }

    /// <summary>When set, only this deployment is used (health checks); otherwise routing picks one.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>A health probe (<c>GET /health</c>): answered like any request, but neither billed nor reported (no usage event).</summary>
    public bool HealthCheck { get; init; }

    /// <summary>Who sent the request (key hash, user, team); null on an open gateway or with the master key.</summary>
    public Caller? Caller { get; init; }

    /// <summary>The pre_call guardrail decisions the Ingress made before queuing; the workers copy them into <see cref="Usage.UsageRecorded"/>.</summary>
    public IReadOnlyList<Usage.GuardrailOutcome>? Guardrails { get; init; }

    /// <summary>
    /// Set by the Ingress on a request sent with an <c>Idempotency-Key</c> (the key's TTL, in seconds): the worker that
    /// produces the final answer also keeps it for that long where any Ingress can read it (<c>KeptAnswers</c>), so a
    /// repeat of the request still gets it when the Ingress that sent it died or lost it. Null: not kept.
    /// </summary>
    public int? KeepAnswerSeconds { get; init; }
}
