using Broker.Config;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Health;
using Broker.ServiceDefaults.Models;
using Broker.ServiceDefaults.Options;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Health;
using Broker.Workers.Inference;
using Broker.Workers.Providers;
using Broker.Workers.RateLimits;
using Broker.Workers.Retries;
using Broker.Workers.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.Workers;

public static class WorkersRegistration
{
    /// <summary>
    /// The Workers role: consumes each served model group's queue and calls providers.
    /// Needs the config registered (<see cref="IProxyConfigProvider"/>) and, after all roles, <c>AddBrokerBus</c>.
    /// </summary>
    public static IHostApplicationBuilder AddWorkers(this IHostApplicationBuilder builder, IProxyConfigProvider config, WorkersOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        var all = config.Current.ModelGroups;
        var unknown = options.Groups.Where(g => all.All(m => m.Name != g)).ToList();
        // with store_model_in_db a name may be a group that exists only as runtime models (/model/new), now or later:
        // its queue is consumed once it appears
        if (unknown.Count > 0 && !config.Current.GeneralSettings.StoreModelInDb)
        {
            throw new ArgumentException(
                $"--groups names model groups that config.yaml does not have: {string.Join(", ", unknown)} (known: {string.Join(", ", all.Select(g => g.Name))})",
                nameof(options));
        }

        var served = options.Groups.Count == 0 ? all : all.Where(g => options.Groups.Contains(g.Name)).ToList();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHttpClient(ProviderHttp.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(sp => ProviderConnections.CreateHandler(
                sp.GetRequiredService<IProxyConfigProvider>().Current.LitellmSettings.ForceIpv4));
        builder.Services.AddSingleton<IDeadLetterHandler, WorkerDeadLetterAlerts>();
        builder.Services.AddSingleton<ProviderHttp>();
        builder.Services.AddProviderImplementations();
        builder.Services.AddSingleton<DeploymentSelector>();
        builder.AddBrokerRedis();
        builder.Services.AddSingleton<RoutingState>();
        builder.Services.AddSingleton<IRoutingStore>(sp => sp.GetRequiredService<RoutingState>());
        // in one process with the Ingress, GET /cooldowns sees this process's state even without Redis
        builder.Services.Replace(ServiceDescriptor.Singleton<ICooldownView>(sp => sp.GetRequiredService<RoutingState>()));
        builder.AddDeploymentHealthBoard();
        builder.Services.AddSingleton<DeploymentRouter>();
        builder.Services.AddSingleton<DeploymentProbe>();
        // each round probes the groups in force then: config.yaml's after a reload, and runtime models
        builder.Services.AddHostedService(sp => new BackgroundHealthChecks(
            () => config.Current.ModelGroups.Where(g => options.Groups.Count == 0 || options.Groups.Contains(g.Name)).ToList(),
            sp.GetRequiredService<DeploymentHealthBoard>(), sp.GetRequiredService<DeploymentProbe>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<BackgroundHealthChecks>>()));
        builder.Services.AddSingleton<StreamCancellations>();
        builder.AddValidatedOptions<AttemptReporting>("Workers");
        builder.Services.AddSingleton<RetrySagaStore>();
        builder.Services.AddHostedService<RetrySagaStoreCheck>();
        builder.Services.AddHostedService<CancelChatCompletionConnector>();
        builder.AddBusContribution(new InferenceBusContribution(config.Current, served, options.ConcurrencyPerGroup));
        // groups that exist only as runtime models (store_model_in_db) get their queues at run time
        builder.AddRuntimeModels();
        var staticGroups = served.Select(g => g.Name).ToHashSet(StringComparer.Ordinal);
        builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<RuntimeGroupEndpoints>(sp, (IReadOnlyCollection<string>)staticGroups, options));
        return builder;
    }
}
