namespace Broker.Workers.RateLimits;

/// <summary>Answer of an attempt to take a slot on a deployment (or on the gateway).</summary>
public enum AcquireOutcome
{
    Acquired = 0,
    MaxParallelReached = 1,
    RpmReached = 2,
    TpmReached = 3,

    /// <summary>The deployment is cooling down after failures (only from <see cref="IRoutingStore.TryAcquireSoleAsync"/>).</summary>
    CoolingDown = 4,
}
