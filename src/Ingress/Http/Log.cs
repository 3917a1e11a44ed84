using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Http;

internal static partial class Log
{
    [LoggerMessage(EventId = 1251, Level = LogLevel.Information, Message = "Stopping: waiting for {Requests} open requests and streams to finish (at most {DrainSeconds} s)")]
    public static partial void Draining(ILogger logger, int requests, double drainSeconds);

    [LoggerMessage(EventId = 1252, Level = LogLevel.Warning, Message = "Stopping with {Requests} requests still open after the drain time (Ingress:DrainSeconds)")]
    public static partial void DrainCut(ILogger logger, int requests);
}
