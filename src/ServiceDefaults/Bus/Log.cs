using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Bus;

internal static partial class Log
{
    [LoggerMessage(EventId = 5401, Level = LogLevel.Warning, Message = "RabbitMQ wait queues unavailable, a delayed message waits in its consumer instead: {Reason}")]
    public static partial void WaitQueuesUnavailable(ILogger logger, string reason);
}
