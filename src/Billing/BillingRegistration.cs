using Broker.Billing.Alerts;
using Broker.Billing.Budgets;
using Broker.Billing.Callbacks;
using Broker.Billing.History;
using Broker.Billing.Persistence;
using Broker.Billing.Usage;
using Broker.Config.Model;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.Billing;

public static class BillingRegistration
{
    /// <summary>
    /// The Billing role: usage events into spend and budgets in PostgreSQL, budget resets, spend log retention, alerts
    /// and callbacks, as <paramref name="config"/> (the config.yaml loaded at start) turns them on. Call before <c>AddBrokerBus</c>.
    /// </summary>
    public static IHostApplicationBuilder AddBilling(this IHostApplicationBuilder builder, ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(config);
        builder.Services.AddSingleton<UsageLedger>();
        builder.Services.AddSingleton<SpendWriter>();
        // spend: PostgreSQL, or the embedded SQLite file (one behaviour, one contract test suite)
        builder.Services.AddSingleton<ISpendWriter>(sp => sp.GetRequiredService<BrokerDatabase>().Kind == DatabaseKind.Sqlite
            ? ActivatorUtilities.CreateInstance<SqliteSpendWriter>(sp)
            : sp.GetRequiredService<SpendWriter>());
        builder.Services.AddSingleton<DatabaseAlerts>();
        builder.Services.AddSingleton<DeadLetterAlerts>();
        builder.Services.AddSingleton<IDeadLetterHandler>(sp => sp.GetRequiredService<DeadLetterAlerts>());
        builder.Services.AddOptions<BillingOptions>().BindConfiguration("Billing");
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<BudgetResetter>();
        builder.Services.AddHostedService<BudgetResetService>();
        builder.Services.AddSingleton<SpendRetention>();
        builder.Services.AddSingleton<IRequestAttemptStore>(sp => sp.GetRequiredService<BrokerDatabase>().Kind == DatabaseKind.Sqlite
            ? ActivatorUtilities.CreateInstance<SqliteRequestAttemptStore>(sp)
            : ActivatorUtilities.CreateInstance<PostgresRequestAttemptStore>(sp));
        builder.Services.AddHostedService<SpendRetentionService>();
        builder.AddBusContribution(new BillingBusContribution());
        builder.AddAlerting(config);
        builder.AddCallbacks(config);
        return builder;
    }

    private sealed class BillingBusContribution : IBusContribution
    {
        public void AddConsumers(IBusRegistrationConfigurator configurator)
        {
            configurator.AddConsumer<UsageRecordedConsumer, UsageRecordedConsumerDefinition>();
            configurator.AddConsumer<GuardrailsDecidedConsumer, GuardrailsDecidedConsumerDefinition>();
            configurator.AddConsumer<InferenceAttemptedConsumer, InferenceAttemptedConsumerDefinition>();
            configurator.AddConsumer<GetRequestHistoryConsumer, GetRequestHistoryConsumerDefinition>();
        }

        public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator)
        {
        }
    }
}
