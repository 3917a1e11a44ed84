using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Alerts;

internal static partial class Log
{
    [LoggerMessage(EventId = 3651, Level = LogLevel.Warning, Message = "Request {RequestId} to {Queue} has had no answer for {AgeSeconds:0} s (alerting_threshold {ThresholdSeconds:0} s)")]
    public static partial void RequestHanging(ILogger logger, Guid requestId, string queue, double ageSeconds, double thresholdSeconds);

    [LoggerMessage(EventId = 3652, Level = LogLevel.Warning, Message = "Alert {Kind} was not raised: {Reason}")]
    public static partial void ManagementAlertNotRaised(ILogger logger, string kind, string reason);
}
