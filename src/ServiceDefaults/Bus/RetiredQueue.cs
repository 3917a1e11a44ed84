namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// A durable queue a role declares only while a feature is configured (usage alerts, callbacks), and that this process
/// does not declare because the feature is off.
/// </summary>
/// <param name="Name">The queue, and the exchange of the same name MassTransit binds its message types to.</param>
/// <param name="Reason">Why it is not needed, for the log.</param>
public sealed record RetiredQueue(string Name, string Reason);
