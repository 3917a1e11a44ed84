using Microsoft.Data.Sqlite;
using Npgsql;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Broker's state store (keys, spend, files, batches): a PostgreSQL database (<c>general_settings.database_url</c>,
/// one pooled <see cref="NpgsqlDataSource"/> per process) or an embedded SQLite file (the one-process default), and
/// whether the schema migrations have run. <see cref="IsConfigured"/> is true for PostgreSQL only (the code written
/// against <see cref="DataSource"/>); <see cref="HasStore"/> is true for either.
/// </summary>
public sealed class BrokerDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _dataSource;
    private readonly SqliteConnection? _keepAlive;
    private readonly TaskCompletionSource _migrated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BrokerDatabase(string? connectionString)
    {
        ConnectionString = connectionString;
        _dataSource = connectionString is null ? null : NpgsqlDataSource.Create(connectionString);
        Kind = connectionString is null ? DatabaseKind.None : DatabaseKind.PostgreSql;
    }

    private BrokerDatabase(string sqliteConnectionString, string location)
    {
        Kind = DatabaseKind.Sqlite;
        SqliteConnectionString = sqliteConnectionString;
        Location = location;
        if (new SqliteConnectionStringBuilder(sqliteConnectionString).Mode == SqliteOpenMode.Memory)
        {
            // a shared in-memory database lives as long as one connection to it is open
            _keepAlive = new SqliteConnection(sqliteConnectionString);
            _keepAlive.Open();
        }
    }

    /// <summary>An embedded SQLite store (see <see cref="SqliteLocation"/> for the connection string).</summary>
    public static BrokerDatabase Sqlite(SqliteLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return new BrokerDatabase(location.ConnectionString, location.Description);
    }

    public DatabaseKind Kind { get; }

    /// <summary>True when a PostgreSQL database is configured (<see cref="DataSource"/> can be used).</summary>
    public bool IsConfigured => _dataSource is not null;

    /// <summary>True when state is kept, in PostgreSQL or SQLite.</summary>
    public bool HasStore => Kind != DatabaseKind.None;

    /// <summary>The Npgsql connection string (holds the password: never log it).</summary>
    public string? ConnectionString { get; }

    /// <summary>The SQLite connection string when <see cref="Kind"/> is <see cref="DatabaseKind.Sqlite"/>.</summary>
    public string? SqliteConnectionString { get; }

    /// <summary>The SQLite file (or <c>:memory:</c>) for the start-up log.</summary>
    public string? Location { get; }

    public NpgsqlDataSource DataSource =>
        _dataSource ?? throw new InvalidOperationException("no PostgreSQL database is configured (general_settings.database_url)");

    /// <summary>True once the schema is at the current version in this process's lifetime.</summary>
    public bool IsMigrated => _migrated.Task.IsCompletedSuccessfully;

    /// <summary>Completes when the migrations have run (they are retried in the background while the database is down).</summary>
    public Task WhenMigrated(CancellationToken cancellationToken) => _migrated.Task.WaitAsync(cancellationToken);

    internal void MarkMigrated() => _migrated.TrySetResult();

    /// <summary>
    /// An open SQLite connection with Broker's settings: foreign keys on, writers wait (busy_timeout) rather than fail
    /// while another connection writes (SQLite serialises writers; the file is in WAL mode so readers never wait).
    /// </summary>
    public async Task<SqliteConnection> OpenSqliteAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(SqliteConnectionString
            ?? throw new InvalidOperationException("the store is not SQLite"));
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        if (_keepAlive is not null)
        {
            await _keepAlive.DisposeAsync().ConfigureAwait(false);
        }
    }
}
