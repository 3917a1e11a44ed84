using Microsoft.Extensions.Logging;

namespace Broker.Workers.Retries;

internal static partial class Log
{
    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Request {RequestId}: {Step} attempt {Attempt} on {ModelGroup} after {ErrorClass} {StatusCode} (wait {DelayMs} ms)")]
    public static partial void NextAttempt(ILogger logger, Guid requestId, string step, int attempt, string modelGroup, string errorClass, int statusCode, double delayMs);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Request {RequestId} for {ModelGroup} failed after {Attempts} attempts: no retries or fallbacks left")]
    public static partial void Exhausted(ILogger logger, Guid requestId, string modelGroup, int attempts);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Debug, Message = "Request {RequestId}: ignored a report of attempt {Attempt}, attempt {Current} runs already")]
    public static partial void StaleReport(ILogger logger, Guid requestId, int attempt, int current);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "Retry saga state falls back to this process's memory: {Reason}")]
    public static partial void StoreLocal(ILogger logger, string reason);
}
