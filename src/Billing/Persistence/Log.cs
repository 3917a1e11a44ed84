using Microsoft.Extensions.Logging;

namespace Broker.Billing.Persistence;

internal static partial class Log
{
    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "Spend log retention: {Deleted} row(s) older than {Cutoff:O} deleted in {Chunks} chunk(s)")]
    public static partial void Retained(ILogger logger, long deleted, DateTimeOffset cutoff, int chunks);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning, Message = "Spend log retention deferred: {Reason}")]
    public static partial void RetentionDeferred(ILogger logger, string reason);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Warning, Message = "maximum_spend_logs_retention_period '{Value}' is not a duration (e.g. 30d): spend logs are kept")]
    public static partial void BadRetention(ILogger logger, string value);
}
