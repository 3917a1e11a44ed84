namespace Broker.ServiceDefaults.Redis;

/// <summary>Reads the active cooldowns (for <c>GET /cooldowns</c>), wherever the routing state lives.</summary>
public interface ICooldownView
{
    /// <summary>Active cooldowns among <paramref name="deployments"/> (model group, deployment id).</summary>
    Task<IReadOnlyList<ActiveCooldown>> ListAsync(IReadOnlyCollection<(string ModelGroup, string DeploymentId)> deployments, CancellationToken cancellationToken);
}
