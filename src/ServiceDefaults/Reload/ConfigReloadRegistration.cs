using Broker.Contracts.Routing;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Reload;

public static class ConfigReloadRegistration
{
    /// <summary>
    /// Config reload for every role of the process (<see cref="ConfigReloader"/>): file watch, periodic hash check,
    /// SIGHUP, and a temporary queue of this process's own on which every <see cref="ConfigReloadRequested"/> arrives.
    /// Host settings in <see cref="ConfigReloadOptions"/>. Needs the config registered as a ProxyConfigProvider.
    /// </summary>
    public static IHostApplicationBuilder AddConfigReload(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(d => d.ServiceType == typeof(ConfigReloader)))
        {
            return builder;
        }

        builder.Services.AddMetrics();
        builder.Services.AddSingleton(ConfigReloadOptions.From(builder.Configuration));
        builder.Services.AddSingleton<ConfigReloader>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        builder.Services.AddHealthChecks().AddCheck<ConfigHealthCheck>("config", tags: ["ready"]);
        builder.AddBusContribution(new ConfigReloadContribution());
        return builder;
    }

    private sealed class ConfigReloadContribution : IBusContribution
    {
        public void AddConsumers(IBusRegistrationConfigurator configurator)
        {
        }

        public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator) =>
            configurator.ReceiveEndpoint(new TemporaryEndpointDefinition("config-reload"), endpoint =>
                endpoint.Handler<ConfigReloadRequested>(message =>
                {
                    var reloader = context.GetRequiredService<ConfigReloader>();
                    // this process already reloaded; the others re-read their own file (and do not announce again)
                    return message.Message.InstanceId == reloader.InstanceId
                        ? Task.CompletedTask
                        : reloader.ReloadAsync("bus announce", message.Message.Force, announce: false, message.CancellationToken);
                }));
    }
}
