namespace Broker.Workers;

/// <summary>Which model groups this worker process serves.</summary>
public sealed record WorkersOptions
{
    /// <summary>Group names from <c>--groups a,b</c>; empty = every group in config.yaml.</summary>
    public IReadOnlyCollection<string> Groups { get; init; } = [];
}
