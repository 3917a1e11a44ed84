using System.ComponentModel.DataAnnotations;

namespace Broker.Ingress.Idempotency;

/// <summary>
/// Idempotent retries (section <c>Idempotency</c>, e.g. <c>Idempotency__TtlSeconds=3600</c>): how long an answer is kept
/// for a repeated <c>Idempotency-Key</c>, and how a request in flight holds its key.
/// </summary>
public sealed class IdempotencyOptions
{
    /// <summary>How long a finished request's answer is replayed for its key (default 24 h).</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double TtlSeconds { get; set; } = 24 * 60 * 60;

    /// <summary>
    /// The lease of a request in flight: how long its claim counts as alive without a sign of life; the Ingress running
    /// it renews the lease every third of this. When an Ingress dies with the request in flight, its repeats wait at
    /// most this long, then follow its call (its answer as the workers kept it, or 409 <c>idempotency_outcome_unknown</c>
    /// when none came by its deadline), never run it again.
    /// Without Redis (claims in one process's memory) it is how long an unrenewed claim lasts.
    /// </summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double ClaimSeconds { get; set; } = 30;

    /// <summary>How often a repeated request waiting for the first one asks the shared store (Redis) whether it finished.</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double PollMilliseconds { get; set; } = 200;

    /// <summary>The largest answer kept for replay; a repeat of a larger one is answered 409 instead of calling the provider again.</summary>
    [Range(1L, long.MaxValue, ErrorMessage = "{0} must be 1 or more")]
    public long MaxStoredBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Without Redis: the most the answers kept in this process's memory may take; past it (after dropping expired ones),
    /// a repeat is answered 409 instead of replayed.
    /// </summary>
    [Range(1L, long.MaxValue, ErrorMessage = "{0} must be 1 or more")]
    public long MaxLocalBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>The longest key accepted (Stripe's limit); a longer one is a 400.</summary>
    public const int MaxKeyLength = 255;
}
