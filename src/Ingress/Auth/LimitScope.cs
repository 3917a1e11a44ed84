namespace Broker.Ingress.Auth;

/// <summary>One entity's limits for a request: <c>key</c>, <c>user</c> or <c>team</c> with its id.</summary>
public sealed record LimitScope(string Type, string Id, long? RpmLimit, long? TpmLimit, int? MaxParallelRequests)
{
    public bool HasLimits => RpmLimit is not null || TpmLimit is not null || MaxParallelRequests is not null;
}
