using System.ComponentModel.DataAnnotations;

namespace Broker.Ingress.Caching;

/// <summary>Response cache host settings (appsettings / environment, section <c>Cache</c>, e.g. <c>Cache__TimeoutMilliseconds=50</c>).</summary>
public sealed class CacheOptions
{
    /// <summary>Longest wait for one cache read or write; a slower cache is a miss, never a slower request.</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double TimeoutMilliseconds { get; set; } = 100;

    /// <summary>After a failed or timed-out cache call, how long the cache is skipped (every lookup a miss) before it is tried again.</summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double RetryAfterFailureSeconds { get; set; } = 5;

    /// <summary><c>type: redis-semantic</c>: most entries per namespace and model group (each lookup scans them all).</summary>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be 1 or more")]
    public int SemanticMaxEntries { get; set; } = 1000;

    /// <summary><c>type: local</c>: most entries kept in memory; the least recently used go first.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be 1 or more")]
    public int LocalMaxEntries { get; set; } = 10_000;

    /// <summary><c>type: local</c>: most characters of cached bodies kept in memory (about twice as many bytes).</summary>
    [Range(1L, long.MaxValue, ErrorMessage = "{0} must be 1 or more")]
    public long LocalMaxChars { get; set; } = 64L * 1024 * 1024;
}
