using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Redis;

internal static partial class Log
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Redis at {Endpoint} is unavailable ({Reason}): routing state, limits and cooldowns are per process until it answers again")]
    public static partial void Degraded(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Redis at {Endpoint} answers again: routing state is shared")]
    public static partial void Recovered(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Shared routing state in Redis at {Endpoint}")]
    public static partial void Connected(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "The answer of request {RequestId} (sent with an Idempotency-Key) was not kept in Redis ({Reason}): a repeat of it gets 409 idempotency_outcome_unknown if its Ingress loses the reply")]
    public static partial void AnswerNotKept(ILogger logger, Guid requestId, string reason);
}
