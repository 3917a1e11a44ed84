namespace Broker.ServiceDefaults.Redis;

/// <summary>
/// Redis key names of the shared routing state. Every key of one deployment carries the same hash tag
/// (<c>{group/deployment}</c>), so a script may touch several of them in Redis Cluster.
/// </summary>
public static class RoutingKeys
{
    /// <summary><c>broker:{gpt-4o/dep-1}:inflight</c>.</summary>
    public static string Deployment(string prefix, string group, string deploymentId, string suffix)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(deploymentId);
        return $"{prefix}:{{{Clean(group)}/{Clean(deploymentId)}}}:{suffix}";
    }

    public static string Cooldown(string prefix, string group, string deploymentId) => Deployment(prefix, group, deploymentId, "cooldown");

    /// <summary>Requests in flight across the whole gateway (global_max_parallel_requests).</summary>
    public static string GlobalInFlight(string prefix) => $"{prefix}:{{global}}:inflight";

    private static string Clean(string part) => part.Replace('{', '(').Replace('}', ')');
}
