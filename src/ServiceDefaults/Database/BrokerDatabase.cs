using Npgsql;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// The PostgreSQL database of <c>general_settings.database_url</c> (keys, spend, batches): one pooled
/// <see cref="NpgsqlDataSource"/> per process, and whether the schema migrations have run. When no
/// database_url is configured, <see cref="IsConfigured"/> is false and <see cref="DataSource"/> throws.
/// </summary>
public sealed class BrokerDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _dataSource;
    private readonly TaskCompletionSource _migrated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BrokerDatabase(string? connectionString)
    {
        ConnectionString = connectionString;
        _dataSource = connectionString is null ? null : NpgsqlDataSource.Create(connectionString);
    }

    public bool IsConfigured => _dataSource is not null;

    /// <summary>The Npgsql connection string (holds the password: never log it).</summary>
    public string? ConnectionString { get; }

    public NpgsqlDataSource DataSource =>
        _dataSource ?? throw new InvalidOperationException("no database is configured (general_settings.database_url)");

    /// <summary>True once the schema is at the current version in this process's lifetime.</summary>
    public bool IsMigrated => _migrated.Task.IsCompletedSuccessfully;

    /// <summary>Completes when the migrations have run (they are retried in the background while the database is down).</summary>
    public Task WhenMigrated(CancellationToken cancellationToken) => _migrated.Task.WaitAsync(cancellationToken);

    internal void MarkMigrated() => _migrated.TrySetResult();

    public ValueTask DisposeAsync() => _dataSource?.DisposeAsync() ?? ValueTask.CompletedTask;
}
