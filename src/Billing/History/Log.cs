using Microsoft.Extensions.Logging;

namespace Broker.Billing.History;

internal static partial class Log
{
    [LoggerMessage(EventId = 3751, Level = LogLevel.Debug, Message = "Stored {Count} request attempts")]
    public static partial void AttemptsStored(ILogger logger, int count);

    [LoggerMessage(EventId = 3752, Level = LogLevel.Warning, Message = "Attempt history of {RequestId} not readable: {Reason}")]
    public static partial void HistoryUnavailable(ILogger logger, Guid requestId, string reason);
}
