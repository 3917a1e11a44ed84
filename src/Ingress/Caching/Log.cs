using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Caching;

internal static partial class Log
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Response cache: {Store}, ttl {TtlSeconds}s, namespace {Namespace}, mode {Mode}")]
    public static partial void Enabled(ILogger logger, string store, double ttlSeconds, string nameSpace, string mode);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Response cache type '{Type}' is loaded; not active yet: requests are not cached ({Served} are served)")]
    public static partial void TypeNotActive(ILogger logger, string type, string served);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Response cache {Store} is unavailable ({Reason}): every lookup is a miss until it answers again")]
    public static partial void Degraded(ILogger logger, string store, string reason);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Response cache {Store} answers again")]
    public static partial void Recovered(ILogger logger, string store);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Response cache type {Type} {Missing}: requests are not cached")]
    public static partial void NotConfigured(ILogger logger, string type, string missing);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Could not record the usage of cache hit {RequestId}: {Reason}")]
    public static partial void UsageNotPublished(ILogger logger, Guid requestId, string reason);
}
