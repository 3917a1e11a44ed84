using Broker.Config;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Database;

public static class DatabaseRegistration
{
    /// <summary>
    /// The PostgreSQL database of <c>general_settings.database_url</c> (else <c>DATABASE_URL</c>, read by the config
    /// loader) with <c>database_connection_pool_limit</c> and <c>database_connection_timeout</c> applied; migrations
    /// run at start-up; a <c>database</c> readiness check. Without a database_url, <see cref="BrokerDatabase.IsConfigured"/>
    /// is false. Needs the config registered. Safe to call from several roles.
    /// </summary>
    public static IHostApplicationBuilder AddBrokerDatabase(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(d => d.ServiceType == typeof(BrokerDatabase)))
        {
            return builder;
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp =>
        {
            var general = sp.GetRequiredService<IProxyConfigProvider>().Current.GeneralSettings;
            return new BrokerDatabase(general.DatabaseUrl is { } url
                ? DatabaseConnectionString.From(url.Value, general.DatabaseConnectionPoolLimit, general.DatabaseConnectionTimeout)
                : null);
        });
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DatabaseMigrator>());
        builder.Services.AddSingleton<DatabaseHealthCheck>();
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        return builder;
    }
}
