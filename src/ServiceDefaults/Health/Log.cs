using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Health;

internal static partial class Log
{
    [LoggerMessage(EventId = 5301, Level = LogLevel.Debug, Message = "Could not share deployment health through Redis ({Reason}): this process's results only")]
    public static partial void NotShared(ILogger logger, string reason);
}
