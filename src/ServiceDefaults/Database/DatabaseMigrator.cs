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
        switch (database.Kind)
        {
            case DatabaseKind.None:
                Log.NoStore(logger);
                return;
            case DatabaseKind.Sqlite:
                // a local file: nothing to wait for, and a failure (a folder that cannot be written) stops the start
                Log.SqliteStore(logger, database.Location!);
                await MigrateSqliteAsync(cancellationToken).ConfigureAwait(false);
                return;
            default:
                var where = new NpgsqlConnectionStringBuilder(database.ConnectionString);
                Log.PostgresStore(logger, where.Host ?? "", where.Database ?? "");
                break;
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
        while (database.Kind == DatabaseKind.PostgreSql && !database.IsMigrated && !stoppingToken.IsCancellationRequested)
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

    /// <summary>
    /// Brings an embedded SQLite file to the current version: the scripts embedded from <c>Database/SqliteMigrations</c>
    /// (twins of the PostgreSQL ones, same names), each once, in name order, journaled in <c>broker_schema_versions</c>,
    /// all in one write transaction (one process owns the file). The file is put in WAL mode so readers never wait on the writer.
    /// </summary>
    public async Task MigrateSqliteAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken).ConfigureAwait(false);
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = (database.Location == ":memory:" ? "" : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; ") +
                "CREATE TABLE IF NOT EXISTS broker_schema_versions (script_name TEXT PRIMARY KEY, applied TEXT NOT NULL);";
            await setup.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var applied = new HashSet<string>(StringComparer.Ordinal);
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT script_name FROM broker_schema_versions";
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetString(0));
            }
        }

        var assembly = Assembly.GetExecutingAssembly();
        const string Marker = ".Database.SqliteMigrations.";
        var scripts = assembly.GetManifestResourceNames()
            .Where(n => n.Contains(Marker, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => (Resource: n, Name: n[(n.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length)..]))
            .Where(s => !applied.Contains(s.Name))
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
        if (scripts.Count > 0)
        {
            await using var transaction = (Microsoft.Data.Sqlite.SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            foreach (var (resource, name) in scripts)
            {
                using var stream = assembly.GetManifestResourceStream(resource)!;
                using var text = new StreamReader(stream);
                await using var run = connection.CreateCommand();
                run.Transaction = transaction;
                run.CommandText = await text.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
                await run.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await using var journal = connection.CreateCommand();
                journal.Transaction = transaction;
                journal.CommandText = "INSERT INTO broker_schema_versions (script_name, applied) VALUES ($name, $applied)";
                journal.Parameters.AddWithValue("$name", name);
                journal.Parameters.AddWithValue("$applied", SqliteValues.Time(time.GetUtcNow()));
                await journal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        Log.Migrated(logger, scripts.Count);
        database.MarkMigrated();
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
