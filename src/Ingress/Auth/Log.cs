using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Auth;

internal static partial class Log
{
    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning,
        Message = "Fallback {Fallback} of a request for {Model} skipped: outside the models of {Caller}")]
    public static partial void FallbackSkipped(ILogger logger, string fallback, string model, string caller);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Refused {Method} {Route}: the route declares no access rule")]
    public static partial void RouteUndeclared(ILogger logger, string method, string route);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "custom_auth hook {Url} {Why}: request refused (fail closed)")]
    public static partial void CustomAuthUnavailable(ILogger logger, string url, string why);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning,
        Message = "JWT signing keys could not be fetched from {Url} ({Why}): tokens are refused until they can be")]
    public static partial void JwksFetchFailed(ILogger logger, string url, string why);
}
