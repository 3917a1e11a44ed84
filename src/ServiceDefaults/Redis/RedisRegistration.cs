using Broker.Config;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Redis;

public static class RedisRegistration
{
    /// <summary>
    /// The shared-state Redis (router_settings.redis_*, else <c>REDIS_URL</c> when the roles run distributed, else none), connected at start-up.
    /// Host setting <c>Redis:KeyPrefix</c> changes the key prefix. Needs the config registered (<see cref="IProxyConfigProvider"/>). Safe to call from several roles.
    /// </summary>
    public static IHostApplicationBuilder AddBrokerRedis(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            var router = sp.GetRequiredService<IProxyConfigProvider>().Current.RouterSettings;
            // embedded (one process, in-memory bus): its own state is exact, so REDIS_URL alone does not add a
            // Redis round trip to every request; router_settings.redis_host (several embedded replicas) still does
            var distributed = sp.GetService<Bus.BusOptions>()?.IsDistributed ?? false;
            return RedisOptions.From(router.RedisHost, router.RedisPort, router.RedisPassword?.Value,
                distributed ? configuration["REDIS_URL"] : null, configuration["Redis:KeyPrefix"]);
        });
        builder.Services.TryAddSingleton<BrokerRedis>();
        builder.Services.TryAddSingleton<ICooldownView, RedisCooldownView>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisConnector>());
        return builder;
    }
}
