using Broker.Config;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Database;

public static class DatabaseRegistration
{
    /// <summary>Host setting: the SQLite file used when no database_url is set (default <c>broker.db</c> in the working folder).</summary>
    public const string EmbeddedPathSetting = "Database:EmbeddedPath";

    /// <summary>Host setting: true when the roles run as separate processes (<c>--role</c>); SQLite is then refused.</summary>
    public const string DistributedSetting = "Database:Distributed";

    /// <summary>
    /// The state store: the PostgreSQL database of <c>general_settings.database_url</c> (else <c>DATABASE_URL</c>, read
    /// by the config loader) with <c>database_connection_pool_limit</c> and <c>database_connection_timeout</c> applied,
    /// or an embedded SQLite file (<c>sqlite:///path</c>, or <c>./broker.db</c> when no database_url is set and all roles
    /// run in one process). Distributed roles without a database_url keep no state. Migrations run at start-up; a
    /// <c>database</c> readiness check. Needs the config registered. Safe to call from several roles.
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
            var distributed = builder.Configuration.GetValue<bool>(DistributedSetting);
            var url = general.DatabaseUrl?.Value;
            if (DistributedError(url, distributed) is { } error)
            {
                throw new InvalidOperationException(error);
            }

            if (url is not null && SqliteLocation.IsSqliteUrl(url))
            {
                return BrokerDatabase.Sqlite(SqliteLocation.FromUrl(url));
            }

            if (url is null)
            {
                return distributed
                    ? new BrokerDatabase(null)
                    : BrokerDatabase.Sqlite(builder.Configuration[EmbeddedPathSetting] is { Length: > 0 } path
                        ? path == ":memory:" ? SqliteLocation.Memory() : SqliteLocation.File(path)
                        : SqliteLocation.File(SqliteLocation.DefaultFile));
            }

            return new BrokerDatabase(DatabaseConnectionString.From(url, general.DatabaseConnectionPoolLimit, general.DatabaseConnectionTimeout));
        });
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DatabaseMigrator>());
        builder.Services.AddSingleton<DatabaseHealthCheck>();
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        return builder;
    }

    /// <summary>The start error when roles run as separate processes on an embedded SQLite file; null when the store fits.</summary>
    public static string? DistributedError(string? databaseUrl, bool distributed) =>
        distributed && databaseUrl is not null && SqliteLocation.IsSqliteUrl(databaseUrl)
            ? "database_url is a SQLite file, which one process only can use: with --role (roles in separate processes) " +
              "set database_url to a PostgreSQL server (postgresql://user:pass@host:5432/db), or run broker without --role.."
            : null;
}
