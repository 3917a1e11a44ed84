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
    /// Host settings <c>Redis:KeyPrefix</c> and <c>Redis:CommandTimeoutMs</c> (default 100) change the key prefix and the per-command timeout. Needs the config registered (<see cref="IProxyConfigProvider"/>). Safe to call from several roles.
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
            var options = RedisOptions.From(router.RedisHost, router.RedisPort, router.RedisPassword?.Value,
                distributed ? configuration["REDIS_URL"] : null, configuration["Redis:KeyPrefix"]);
            return double.TryParse(configuration["Redis:CommandTimeoutMs"], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms > 0
                ? options with { CommandTimeout = TimeSpan.FromMilliseconds(ms) }
                : options;
        });
        builder.Services.TryAddSingleton<BrokerRedis>();
        builder.Services.TryAddSingleton<ICooldownView, RedisCooldownView>();
        builder.Services.TryAddSingleton<KeptAnswers>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisConnector>());
        if (!builder.Services.Any(d => d.ServiceType == typeof(RedisHealthCheck)))
        {
            builder.Services.AddSingleton<RedisHealthCheck>();
            builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: ["ready"]);
        }
        return builder;
    }
}
