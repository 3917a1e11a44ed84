using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Keys;

internal static partial class Log
{
    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "The keys database does not answer ({Reason}): keys already seen are served from cache")]
    public static partial void DatabaseDown(ILogger logger, string reason);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "The keys database answers again")]
    public static partial void DatabaseBack(ILogger logger);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Key {KeyName} created (alias {KeyAlias}, user {UserId}, team {TeamId})")]
    public static partial void KeyCreated(ILogger logger, string keyName, string? keyAlias, string? userId, string? teamId);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "{EntityType} changed: {Count} entr(ies) dropped from the caches")]
    public static partial void Invalidated(ILogger logger, string entityType, int count);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "Could not announce the change of {EntityType} to the other instances: {Reason}")]
    public static partial void NotAnnounced(ILogger logger, string entityType, string reason);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Debug, Message = "The proxy-wide spend could not be read ({Reason}): the last known value is used")]
    public static partial void ProxySpendUnavailable(ILogger logger, string reason);
}
