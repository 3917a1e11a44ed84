namespace Broker.Workers.RateLimits;

/// <summary>A deployment's results in the current minute, after recording one request.</summary>
public sealed record FailureCounts(long Successes, long Failures, long FailuresOfClass);
