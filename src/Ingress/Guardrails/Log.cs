using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Guardrails;

internal static partial class Log
{
    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "Guardrail {Guardrail} ({Kind}, {Mode}) blocked: {Reason}")]
    public static partial void Blocked(ILogger logger, string guardrail, string kind, string mode, string reason);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Warning, Message = "Guardrail {Guardrail} ({Kind}, {Mode}) could not decide, the request fails closed: {Reason}")]
    public static partial void Unavailable(ILogger logger, string guardrail, string kind, string mode, string reason);

    [LoggerMessage(EventId = 1803, Level = LogLevel.Warning, Message = "The spend log row of refused request {RequestId} was not published: {Reason}")]
    public static partial void RefusalNotPublished(ILogger logger, Guid requestId, string reason);

    [LoggerMessage(EventId = 1804, Level = LogLevel.Warning, Message = "The during_call and post_call guardrail decisions of request {RequestId} were not published, its spend log row lacks them: {Reason}")]
    public static partial void DecisionsNotPublished(ILogger logger, Guid requestId, string reason);
}
