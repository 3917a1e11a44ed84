using Broker.Config.Model;
using Broker.Workers.RateLimits;

namespace Broker.Workers.Routing.Strategies;

/// <summary>
/// One router_settings.routing_strategy: picks one deployment of a tier (the candidates of the lowest <c>order</c>
/// that may take the request: not cooling down, under their limits; at least two). Add one by implementing this,
/// listing it in <see cref="RoutingStrategies.BuiltIn"/> (or registering it as a singleton
/// <see cref="IRoutingStrategy"/>) and adding its name to <see cref="RoutingStrategyNames"/>.
/// </summary>
public interface IRoutingStrategy
{
    /// <summary>The canonical config.yaml name (<see cref="RoutingStrategyNames"/>).</summary>
    string Name { get; }

    ModelDeployment Pick(IReadOnlyList<DeploymentLoad> tier, Random random);
}
