using Microsoft.Extensions.Logging;

namespace Broker.Billing.Callbacks;

internal static partial class Log
{
    [LoggerMessage(EventId = 3701, Level = LogLevel.Debug, Message = "Callback {Callback} took {RequestId} ({Status})")]
    public static partial void CallbackSent(ILogger logger, string callback, Guid requestId, string status);

    [LoggerMessage(EventId = 3702, Level = LogLevel.Warning, Message = "Callback {Callback} dropped {RequestId} after its retries: {Reason}")]
    public static partial void CallbackFailed(ILogger logger, string callback, Guid requestId, string reason);

    [LoggerMessage(EventId = 3703, Level = LogLevel.Information, Message = "Callbacks on: {Callbacks}")]
    public static partial void CallbacksOn(ILogger logger, string callbacks);

    [LoggerMessage(EventId = 3704, Level = LogLevel.Warning, Message = "Callback {Callback} is listed but not configured ({Missing}): ignored")]
    public static partial void CallbackNotConfigured(ILogger logger, string callback, string missing);
}
