namespace Broker.Workers;

/// <summary>Which model groups this worker process serves.</summary>
public sealed record WorkersOptions
{
    /// <summary>Group names from <c>--groups a,b</c>; empty = every group in config.yaml.</summary>
    public IReadOnlyCollection<string> Groups { get; init; } = [];

    /// <summary>
    /// <c>--concurrency N</c>: at most N requests of each group at once in this process (within the group's own
    /// limit), so that a group scales by adding worker processes; null = the group's limit.
    /// </summary>
    public int? ConcurrencyPerGroup { get; init; }
}
