using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Database;

internal static partial class Log
{
    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Database migrations deferred, retrying in the background: {Reason}")]
    public static partial void MigrationDeferred(ILogger logger, string reason);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Database schema is current ({Applied} migration(s) applied now)")]
    public static partial void Migrated(ILogger logger, int applied);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Debug, Message = "DbUp: {Message}")]
    public static partial void DbUp(ILogger logger, string message);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "DbUp: {Message}")]
    public static partial void DbUpWarning(ILogger logger, string message);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Information, Message = "State store: SQLite file {Location} (one process only; set database_url to a PostgreSQL server to run roles apart)")]
    public static partial void SqliteStore(ILogger logger, string location);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Information, Message = "State store: PostgreSQL {Host}/{Database}")]
    public static partial void PostgresStore(ILogger logger, string host, string database);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Warning, Message = "State store: none (roles run apart without a database_url): keys, spend logs, files and batches are off until database_url names a PostgreSQL server")]
    public static partial void NoStore(ILogger logger);
}
