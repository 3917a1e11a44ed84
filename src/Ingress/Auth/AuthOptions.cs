using System.ComponentModel.DataAnnotations;

namespace Broker.Ingress.Auth;

/// <summary>Host settings of key checking (section <c>Auth</c>, e.g. <c>Auth__KeyCacheSeconds=30</c>).</summary>
public sealed class AuthOptions
{
    /// <summary>How long this process trusts its own copy of a key, user or team before asking Redis/the database again.</summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double KeyCacheSeconds { get; set; } = 30;

    /// <summary>How long a key, user or team stays in the shared Redis cache.</summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double RedisCacheSeconds { get; set; } = 60;

    /// <summary>Longest wait for the database on the request path (a key not cached yet).</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double DatabaseTimeoutSeconds { get; set; } = 2;

    /// <summary>After the database failed to answer, how long requests use cached keys only before asking it again.</summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double DatabaseRetrySeconds { get; set; } = 2;

    /// <summary>
    /// Output tokens a request is assumed to produce when it names no <c>max_tokens</c> (or <c>max_completion_tokens</c>,
    /// <c>max_output_tokens</c>): its budget and tpm reservation until the answer settles it.
    /// </summary>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public int EstimatedOutputTokens { get; set; } = 256;

    /// <summary>How long an answer's cost counts against budgets at most while Billing's total does not include it yet.</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double SettledSpendSeconds { get; set; } = 60;
}
