namespace Broker.Contracts.Routing;

/// <summary>
/// Event published by a process that reloaded config.yaml (its file changed, <c>POST /config/reload</c>,
/// <c>broker reload</c>, SIGHUP): every other process re-reads its own config file at once, instead of waiting for its
/// file watch or periodic check. Not per request, so no RequestId.
/// </summary>
public sealed record ConfigReloadRequested
{
    /// <summary>The process that reloaded (it ignores its own event).</summary>
    public required Guid InstanceId { get; init; }

    /// <summary>True when the reload was asked for (route, CLI, signal): the others reload even if their file looks unchanged.</summary>
    public required bool Force { get; init; }
}
