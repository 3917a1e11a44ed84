using Microsoft.Extensions.Logging;

namespace Broker.Billing.Alerts;

internal static partial class Log
{
    [LoggerMessage(EventId = 3601, Level = LogLevel.Information, Message = "Alert {Kind} ({DedupeKey}) sent to {Channel}")]
    public static partial void AlertSent(ILogger logger, string kind, string dedupeKey, string channel);

    [LoggerMessage(EventId = 3602, Level = LogLevel.Debug, Message = "Alert {Kind} ({DedupeKey}) already sent to {Channel} within its window: skipped")]
    public static partial void AlertDuplicate(ILogger logger, string kind, string dedupeKey, string channel);

    [LoggerMessage(EventId = 3603, Level = LogLevel.Warning, Message = "Alert {Kind} to {Channel}: attempt {Attempt} failed ({Reason}); retrying in {DelayMs:0} ms")]
    public static partial void AlertRetry(ILogger logger, string kind, string channel, int attempt, string reason, double delayMs);

    [LoggerMessage(EventId = 3604, Level = LogLevel.Error, Message = "Alert {Kind} ({DedupeKey}) could not be sent to {Channel}: {Reason}")]
    public static partial void AlertFailed(ILogger logger, string kind, string dedupeKey, string channel, string reason);

    [LoggerMessage(EventId = 3605, Level = LogLevel.Debug, Message = "Alert {Kind} ({DedupeKey}) not sent: alerting is off for it")]
    public static partial void AlertOff(ILogger logger, string kind, string dedupeKey);

    [LoggerMessage(EventId = 3606, Level = LogLevel.Warning, Message = "Spend report could not be built: {Reason}")]
    public static partial void SpendReportFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3607, Level = LogLevel.Information, Message = "Alerting on {Channels} (threshold {ThresholdSeconds:0} s, spend reports every {SpendReport})")]
    public static partial void AlertingOn(ILogger logger, string channels, double thresholdSeconds, string spendReport);

    [LoggerMessage(EventId = 3608, Level = LogLevel.Warning, Message = "Alerting channel {Channel} is on but {Missing}: its alerts are not sent")]
    public static partial void ChannelNotConfigured(ILogger logger, string channel, string missing);
}
