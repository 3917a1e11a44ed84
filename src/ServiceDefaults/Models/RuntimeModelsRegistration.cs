using Broker.Contracts.Routing;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Models;

public static class RuntimeModelsRegistration
{
    /// <summary>
    /// Runtime models for a role that routes (Ingress, Workers): the model store of the state store (PostgreSQL or
    /// SQLite), <see cref="RuntimeModels"/> (loads at start-up, reloads on a timer), and a temporary queue of this
    /// process's own on which every <see cref="ModelsChanged"/> arrives. Safe to call from several roles.
    /// </summary>
    public static IHostApplicationBuilder AddRuntimeModels(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(d => d.ServiceType == typeof(RuntimeModels)))
        {
            return builder;
        }

        builder.AddBrokerDatabase();
        builder.Services.AddSingleton<IModelStore>(sp => sp.GetRequiredService<BrokerDatabase>().Kind == DatabaseKind.Sqlite
            ? ActivatorUtilities.CreateInstance<SqliteModelStore>(sp)
            : ActivatorUtilities.CreateInstance<PostgresModelStore>(sp));
        var seconds = builder.Configuration.GetValue<double?>(RuntimeModels.ReloadSecondsSetting);
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RuntimeModels>(sp,
            seconds is > 0 ? TimeSpan.FromSeconds(seconds.Value) : TimeSpan.FromSeconds(10)));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RuntimeModels>());
        builder.Services.AddSingleton<ModelChanges>();
        builder.AddBusContribution(new ModelsChangedContribution());
        return builder;
    }

    private sealed class ModelsChangedContribution : IBusContribution
    {
        public void AddConsumers(IBusRegistrationConfigurator configurator)
        {
        }

        public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator) =>
            configurator.ReceiveEndpoint(new TemporaryEndpointDefinition("models-changed"), endpoint =>
                endpoint.Handler<ModelsChanged>(message => context.GetRequiredService<RuntimeModels>().ReloadAsync(message.CancellationToken)));
    }
}

/// <summary>After a model write: this process reloads at once, and every other process hears of it over the bus.</summary>
public sealed class ModelChanges(RuntimeModels models, IBus bus, ILogger<ModelChanges> logger)
{
    public async Task AnnounceAsync(string change, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        await models.ReloadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await bus.Publish(new ModelsChanged { ModelIds = ids, Change = change }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.NotAnnounced(logger, ex.GetType().Name);
        }
    }
}
