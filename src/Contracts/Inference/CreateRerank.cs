using Broker.Contracts.Identity;

namespace Broker.Contracts.Inference;

/// <summary>
/// Command sent by the Ingress to a model group's queue: rank documents against a query (Cohere's <c>/v1/rerank</c>
/// shape, as LiteLLM's <c>/rerank</c> takes it).
/// </summary>
public sealed record CreateRerank
{
    public required Guid RequestId { get; init; }

    public required string ModelGroup { get; init; }

    public required string RequestedModel { get; init; }

    /// <summary>The client's request body as JSON (model, query, documents, top_n, return_documents, ...).</summary>
    public required string Body { get; init; }

    public required DateTimeOffset Deadline { get; init; }

    /// <summary>Who sent the request (key hash, user, team); null on an open gateway or with the master key.</summary>
    public Caller? Caller { get; init; }

    /// <summary>
    /// Set by the Ingress on a request sent with an <c>Idempotency-Key</c> (the key's TTL, in seconds): the worker that
    /// produces the final answer also keeps it for that long where any Ingress can read it (<c>KeptAnswers</c>), so a
    /// repeat of the request still gets it when the Ingress that sent it died or lost it. Null: not kept.
    /// </summary>
    public int? KeepAnswerSeconds { get; init; }
}
