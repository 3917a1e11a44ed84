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
}
