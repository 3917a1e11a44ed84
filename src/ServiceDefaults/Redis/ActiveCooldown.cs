namespace Broker.ServiceDefaults.Redis;

/// <summary>A deployment that every worker skips for now, and why.</summary>
public sealed record ActiveCooldown(string ModelGroup, string DeploymentId, double RemainingSeconds, string Reason);
