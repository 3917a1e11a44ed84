using System.Reflection;
using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Brings the schema to the current version with DbUp: the SQL scripts embedded from <c>Database/Migrations</c>
/// (named <c>NNNN_what.sql</c>, run once each, in name order, journaled in <c>broker_schema_versions</c>).
/// Several processes starting at once take a PostgreSQL advisory lock, so each script runs exactly once.
/// Start-up never waits on a database that is down: the first attempt is bounded, then it retries in the background.
/// </summary>
public sealed class DatabaseMigrator(BrokerDatabase database, ILogger<DatabaseMigrator> logger, TimeProvider time) : BackgroundService
{
    private const long LockId = 0x42726f6b6572; // "Broker"
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(2);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!database.IsConfigured)
        {
            return;
        }

        // the first attempt inside start-up, so that a healthy database is ready before the first request
        try
        {
            await MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            Log.MigrationDeferred(logger, ex.Message);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (database.IsConfigured && !database.IsMigrated && !stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RetryEvery, time, stoppingToken).ConfigureAwait(false);
                await MigrateAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                Log.MigrationDeferred(logger, ex.Message);
            }
        }
    }

    /// <summary>Runs the pending scripts now (holding the advisory lock); throws when the database cannot be reached or a script fails.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({LockId})", connection))
        {
            await take.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var result = await Task.Run(() => DeployChanges.To
                .PostgresqlDatabase(database.ConnectionString)
                .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly(),
                    name => name.Contains(".Database.Migrations.", StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
                .JournalToPostgresqlTable("public", "broker_schema_versions")
                .WithTransactionPerScript()
                .LogTo(new DbUpLog(logger))
                .Build()
                .PerformUpgrade(), cancellationToken).ConfigureAwait(false);
            if (!result.Successful)
            {
                throw new InvalidOperationException($"database migration {result.ErrorScript?.Name} failed: {result.Error?.Message}", result.Error);
            }

            Log.Migrated(logger, result.Scripts.Count());
            database.MarkMigrated();
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockId})", connection);
            await release.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private sealed class DbUpLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) { }

        public void LogDebug(string format, params object[] args) { }

        public void LogInformation(string format, params object[] args) => Log.DbUp(logger, Format(format, args));

        public void LogWarning(string format, params object[] args) => Log.DbUpWarning(logger, Format(format, args));

        public void LogError(string format, params object[] args) => Log.DbUpWarning(logger, Format(format, args));

        public void LogError(Exception ex, string format, params object[] args) => Log.DbUpWarning(logger, Format(format, args));

        private static string Format(string format, object[] args) =>
            args.Length == 0 ? format : string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args);
    }
}
