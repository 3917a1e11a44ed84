using System.CommandLine;
using Broker.ServiceDefaults.Database;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Broker.Host.Cli;

/// <summary>
/// <c>broker migrate-db --from sqlite:///path/broker.db --to postgresql://user:pass@host:5432/db [--force]</c>: once, with
/// Broker stopped, copies the state of the embedded SQLite file (keys, users, teams, budgets, spend logs and totals,
/// files with their content, batches and their lines, request attempt history) into PostgreSQL, after bringing the
/// PostgreSQL schema to the current version. A PostgreSQL database that already holds Broker rows is refused unless
/// <c>--force</c>, which empties Broker's tables there first; the copy is one transaction, so a failure changes nothing.
/// Prints the rows copied per table; exits 0 on success, 1 when the copy failed or was refused, 2 on bad arguments.
/// </summary>
public static class MigrateDbCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(getEnv);
        var command = new Command("migrate-db",
            "Once, with Broker stopped: copy all state from the embedded SQLite file into a PostgreSQL database (migrated first)");
        var from = new Option<string>("--from")
        {
            Description = "The SQLite file: sqlite:///abs/path/broker.db, sqlite://relative.db or a plain path (default: Database__EmbeddedPath, else ./broker.db)",
            DefaultValueFactory = _ => getEnv("Database__EmbeddedPath") is { Length: > 0 } path ? path : SqliteLocation.DefaultFile,
        };
        var to = new Option<string?>("--to")
        {
            Description = "The PostgreSQL database: postgresql://user:pass@host:5432/db or an Npgsql connection string (default: DATABASE_URL)",
        };
        var force = new Option<bool>("--force")
        {
            Description = "When the PostgreSQL database already holds Broker rows: empty every Broker table there and replace them with the file's",
        };
        command.Options.Add(from);
        command.Options.Add(to);
        command.Options.Add(force);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = parse.GetValue(from)!;
            string path;
            try
            {
                path = SqliteLocation.IsSqliteUrl(source) ? SqliteLocation.PathOf(source) : source;
            }
            catch (FormatException ex)
            {
                await stderr.WriteLineAsync($"error: --from: {ex.Message}");
                return 2;
            }

            if (path == ":memory:")
            {
                await stderr.WriteLineAsync($"error: --from must name a SQLite file (sqlite:///path/broker.db), got '{source}'");
                return 2;
            }

            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
            {
                await stderr.WriteLineAsync($"error: no SQLite file at {full} (--from sqlite:///abs/path/broker.db, sqlite://relative.db or a plain path)");
                return 1;
            }

            var url = parse.GetValue(to) ?? getEnv("DATABASE_URL");
            if (string.IsNullOrWhiteSpace(url))
            {
                await stderr.WriteLineAsync("error: --to is required: the PostgreSQL database (postgresql://user:pass@host:5432/db or Host=...;Database=...)");
                return 2;
            }

            if (SqliteLocation.IsSqliteUrl(url))
            {
                await stderr.WriteLineAsync("error: --to must be a PostgreSQL database (postgresql://user:pass@host:5432/db), not a SQLite file");
                return 2;
            }

            string connectionString;
            try
            {
                connectionString = DatabaseConnectionString.From(url, poolLimit: null, connectTimeout: null);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or UriFormatException)
            {
                await stderr.WriteLineAsync($"error: --to is not a PostgreSQL URL or connection string: {ex.Message}");
                return 2;
            }

            var sqlite = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString;
            var where = new NpgsqlConnectionStringBuilder(connectionString);
            var target = $"{where.Host}:{where.Port}/{where.Database}";
            try
            {
                if (await StateCopier.UnknownTablesAsync(sqlite, cancellationToken) is { Count: > 0 } unknown)
                {
                    await stderr.WriteLineAsync($"error: {full} has table(s) migrate-db does not copy: {string.Join(", ", unknown)} (is it from a newer Broker?); nothing was copied");
                    return 1;
                }

                await using var database = new BrokerDatabase(connectionString);
                await new DatabaseMigrator(database, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateAsync(cancellationToken);
                var counts = await StateCopier.CopyAsync(sqlite, database.DataSource, parse.GetValue(force), cancellationToken);
                foreach (var (table, rows) in counts)
                {
                    await stdout.WriteLineAsync($"{table}: {rows} row(s)");
                }

                await stdout.WriteLineAsync($"copied {counts.Sum(c => c.Rows)} row(s) from {full} to PostgreSQL {target}");
                return 0;
            }
            catch (StateCopyException ex)
            {
                await stderr.WriteLineAsync($"error: {ex.Message}");
                return 1;
            }
            catch (SqliteException ex)
            {
                await stderr.WriteLineAsync($"error: cannot read {full}: {ex.Message}; nothing was copied");
                return 1;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                await stderr.WriteLineAsync($"error: PostgreSQL {target}: {ex.Message}; nothing was copied");
                return 1;
            }
        });
        return command;
    }
}
