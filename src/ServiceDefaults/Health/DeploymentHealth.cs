namespace Broker.ServiceDefaults.Health;

/// <summary>The latest background health check of one deployment.</summary>
/// <param name="ModelGroup">The deployment's model_name.</param>
/// <param name="DeploymentId">model_info.id (or the generated id).</param>
/// <param name="Model">litellm_params.model.</param>
/// <param name="ApiBase">litellm_params.api_base, when set.</param>
/// <param name="Healthy">Whether the probe call succeeded.</param>
/// <param name="Error">Why it failed (provider message), when it did.</param>
/// <param name="CheckedAt">When the probe finished.</param>
public sealed record DeploymentHealth(
    string ModelGroup, string DeploymentId, string Model, string? ApiBase, bool Healthy, string? Error, DateTimeOffset CheckedAt);
