using Microsoft.Extensions.Logging;

namespace Broker.Workers.Health;

internal static partial class Log
{
    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Background health checks: {Deployments} deployments every {IntervalSeconds} s")]
    public static partial void HealthChecksStarted(ILogger logger, int deployments, double intervalSeconds);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Warning, Message = "Health check of {ModelGroup}/{DeploymentId} failed: {Reason}; routing skips it until a check passes")]
    public static partial void DeploymentUnhealthy(ILogger logger, string modelGroup, string deploymentId, string reason);
}
