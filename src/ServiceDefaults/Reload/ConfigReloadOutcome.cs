namespace Broker.ServiceDefaults.Reload;

/// <summary>What one reload of config.yaml did.</summary>
public sealed record ConfigReloadOutcome
{
    /// <summary><c>reloaded</c>, <c>unchanged</c> (the file is the version in force) or <c>invalid</c> (the version in force stays).</summary>
    public required string Status { get; init; }

    /// <summary>Every error of an invalid file, with its place (<c>config.yaml:3:5 model_list[0]...: ...</c>).</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Model groups the reload added.</summary>
    public IReadOnlyList<string> AddedGroups { get; init; } = [];

    /// <summary>Model groups the reload removed (their queues drain).</summary>
    public IReadOnlyList<string> RemovedGroups { get; init; } = [];

    /// <summary>Settings that changed but apply only after a restart.</summary>
    public IReadOnlyList<string> NeedRestart { get; init; } = [];

    public const string Reloaded = "reloaded";
    public const string Unchanged = "unchanged";
    public const string Invalid = "invalid";
}
