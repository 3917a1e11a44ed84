using Broker.Contracts.Identity;

namespace Broker.Contracts.Inference;

/// <summary>
/// Command sent by the Ingress to a model group's queue: run one OpenAI chat completion.
/// </summary>
public sealed record CreateChatCompletion
{
    public required Guid RequestId { get; init; }

    /// <summary>The model group (model_name in config.yaml) whose queue carries this command.</summary>
    public required string ModelGroup { get; init; }

    /// <summary>The model name the client asked for (differs from the group for aliases and wildcards).</summary>
    public required string RequestedModel { get; init; }

    /// <summary>The client's request body as OpenAI JSON.</summary>
    public required string Body { get; init; }

    /// <summary>When the Ingress stops waiting; a worker that picks the command up later drops it.</summary>
    public required DateTimeOffset Deadline { get; init; }

    /// <summary>
    /// Stream the answer: the worker sends <see cref="ChatCompletionChunksStreamed"/> batches to the message's
    /// ResponseAddress (the Ingress instance holding the client's connection) instead of one reply.
    /// </summary>
    public bool Stream { get; init; }

    /// <summary>
    /// Wire format of <see cref="Body"/> and of the answer: null = OpenAI chat completions; <c>anthropic</c> = an
    /// Anthropic Messages request passed through to an Anthropic deployment unchanged, answered (and streamed)
    /// in Anthropic's own JSON.
    /// </summary>
    public string? Format { get; init; }

    /// <summary>When set, only this deployment is used (health checks); otherwise routing picks one.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>A health probe (<c>GET /health</c>): answered like any request, but neither billed nor reported (no usage event).</summary>
    public bool HealthCheck { get; init; }

    /// <summary>
    /// Set on a retry or fallback attempt (sent by the retry saga, never by the Ingress): where the request stands.
    /// Null on the first attempt.
    /// </summary>
    public ChatCompletionRetry? Retry { get; init; }

    /// <summary>Who sent the request (key hash, user, team); null on an open gateway or with the master key.</summary>
    public Caller? Caller { get; init; }

    /// <summary>
    /// First attempt only: when the Ingress gives up on it (its step timeout, before <see cref="Deadline"/>) and hands the
    /// request to the retry saga as a timed-out attempt. A worker that starts or answers it close to or after then first
    /// takes its attempt ticket (attempt 0), so a given-up attempt neither runs late nor answers twice. Null when the step
    /// lasts until the deadline.
    /// </summary>
    public DateTimeOffset? StepDueAt { get; init; }

    /// <summary>The pre_call guardrail decisions the Ingress made before queuing; the workers copy them into <see cref="Usage.UsageRecorded"/>.</summary>
    public IReadOnlyList<Usage.GuardrailOutcome>? Guardrails { get; init; }

    /// <summary>
    /// Set by the Ingress on a request sent with an <c>Idempotency-Key</c> (the key's TTL, in seconds): the worker that
    /// produces the final answer also keeps it for that long where any Ingress can read it (<c>KeptAnswers</c>), so a
    /// repeat of the request still gets it when the Ingress that sent it died or lost it. Null: not kept.
    /// </summary>
    public int? KeepAnswerSeconds { get; init; }
}
