using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Reload;

internal static partial class Log
{
    [LoggerMessage(EventId = 5601, Level = LogLevel.Information, Message = "Config reloaded from {Path} ({Trigger}): {Groups} model group(s); added: {Added}; removed (draining): {Removed}")]
    public static partial void Reloaded(ILogger logger, string path, string trigger, int groups, string added, string removed);

    [LoggerMessage(EventId = 5602, Level = LogLevel.Error, Message = "Config reload refused ({Trigger}): {Error}")]
    public static partial void InvalidError(ILogger logger, string trigger, string error);

    [LoggerMessage(EventId = 5603, Level = LogLevel.Error, Message = "Config file {Path} is invalid ({Count} error(s) above); the config loaded before stays in force (stale)")]
    public static partial void KeptStale(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 5604, Level = LogLevel.Warning, Message = "Config change needs a restart to apply: {Setting}")]
    public static partial void NeedsRestart(ILogger logger, string setting);

    [LoggerMessage(EventId = 5605, Level = LogLevel.Warning, Message = "Config reload handler failed ({Error}: {Reason})")]
    public static partial void HandlerFailed(ILogger logger, string error, string reason);

    [LoggerMessage(EventId = 5606, Level = LogLevel.Warning, Message = "Config reload could not be announced on the bus ({Error}); other processes pick the change up from their own file")]
    public static partial void NotAnnounced(ILogger logger, string error);

    [LoggerMessage(EventId = 5607, Level = LogLevel.Information, Message = "Config reload asked for by {Trigger}")]
    public static partial void Asked(ILogger logger, string trigger);

    [LoggerMessage(EventId = 5608, Level = LogLevel.Warning, Message = "Config file watching is not available here ({Reason}); the periodic check still reloads")]
    public static partial void NoWatch(ILogger logger, string reason);

    [LoggerMessage(EventId = 5609, Level = LogLevel.Information, Message = "SIGHUP was ignored when this process started (nohup?); it now reloads config.yaml like POST /config/reload")]
    public static partial void HangupWasIgnored(ILogger logger);
}
