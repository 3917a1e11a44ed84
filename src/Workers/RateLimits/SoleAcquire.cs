namespace Broker.Workers.RateLimits;

/// <summary>The answer of <see cref="IRoutingStore.TryAcquireSoleAsync"/>: the outcome, and how long a cooldown has left.</summary>
public readonly record struct SoleAcquire(AcquireOutcome Outcome, TimeSpan? CooldownRemaining);
