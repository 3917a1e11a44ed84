using Broker.ServiceDefaults.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Health;

public static class HealthBoardRegistration
{
    /// <summary>The shared board of background health checks (one per process, whichever roles it runs). Safe to call from several roles.</summary>
    public static IHostApplicationBuilder AddDeploymentHealthBoard(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddBrokerRedis();
        builder.Services.TryAddSingleton<DeploymentHealthBoard>();
        return builder;
    }
}
