namespace Broker.Config.Model;

/// <summary>
/// The route families Broker serves itself: a pass-through endpoint may not take one of them (or a path under one),
/// nor, with <c>include_subpath</c>, a path one of them lies under. A test over the Ingress's mapped routes keeps this
/// list complete.
/// </summary>
public static class BrokerRoutes
{
    private static readonly string[] OpenAi =
        ["/chat/completions", "/completions", "/embeddings", "/responses", "/files", "/batches", "/models", "/messages"];

    /// <summary>Each family: the path itself and everything under it.</summary>
    public static IReadOnlyList<string> Reserved { get; } =
    [
        .. OpenAi,
        .. OpenAi.Select(r => "/v1" + r),
        "/model", "/queues", "/cooldowns", "/health", "/spend", "/global/spend", "/request", "/key", "/user", "/team", "/metrics",
        "/v1/model", "/mcp", "/mcp-rest", "/ui", "/config/reload", "/sso",
    ];

    /// <summary>
    /// Routes Broker serves itself unless a pass-through endpoint is configured at that exact path, which then takes it
    /// (LiteLLM's own pass-through examples put Cohere's rerank at <c>/v1/rerank</c>): Broker maps them after pass-throughs.
    /// </summary>
    public static IReadOnlyList<string> Yielding { get; } = ["/rerank", "/v1/rerank"];

    /// <summary>
    /// The Broker route family <paramref name="path"/> would take (with <paramref name="includeSubpath"/>: also one
    /// lying under it), or null. Compared as ASP.NET routing matches: case-insensitively.
    /// </summary>
    public static string? CollisionOf(string path, bool includeSubpath)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var route in Reserved)
        {
            if (string.Equals(path, route, StringComparison.OrdinalIgnoreCase) ||
                path.StartsWith(route + "/", StringComparison.OrdinalIgnoreCase) ||
                (includeSubpath && (path == "/" || route.StartsWith(path + "/", StringComparison.OrdinalIgnoreCase))))
            {
                return route;
            }
        }

        return null;
    }
}
