namespace Broker.Ingress.Features.Batches;

/// <summary>A batch's row (OpenAI's batch object before its request counts are filled in).</summary>
public sealed record BatchRecord
{
    public required string Id { get; init; }

    public required string Owner { get; init; }

    public required string Endpoint { get; init; }

    public required string InputFileId { get; init; }

    public required string CompletionWindow { get; init; }

    public required string Status { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    public DateTimeOffset? InProgressAt { get; init; }

    public DateTimeOffset? FinalizingAt { get; init; }

    public DateTimeOffset? CompletedAt { get; init; }

    public DateTimeOffset? FailedAt { get; init; }

    public DateTimeOffset? ExpiredAt { get; init; }

    public DateTimeOffset? CancellingAt { get; init; }

    public DateTimeOffset? CancelledAt { get; init; }

    public int Total { get; init; }

    public int Completed { get; init; }

    public int Failed { get; init; }

    /// <summary>The metadata object as JSON text, or null.</summary>
    public string? Metadata { get; init; }

    public string? OutputFileId { get; init; }

    public string? ErrorFileId { get; init; }

    /// <summary>The validation errors (OpenAI's <c>errors.data</c> array) as JSON text, or null.</summary>
    public string? Errors { get; init; }
}
