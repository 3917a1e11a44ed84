namespace Broker.Contracts.Routing;

/// <summary>
/// Event published after a runtime model was added, updated or deleted (<c>/model/new</c>, <c>/model/update</c>,
/// <c>/model/delete</c>): every Ingress and Workers process reloads the runtime models from the state store at once
/// (they also reload on a timer, so one that missed the event converges). Not per request, so no RequestId.
/// </summary>
public sealed record ModelsChanged
{
    /// <summary>The model ids that changed.</summary>
    public required IReadOnlyList<string> ModelIds { get; init; }

    /// <summary><c>created</c>, <c>updated</c> or <c>deleted</c>.</summary>
    public required string Change { get; init; }
}
