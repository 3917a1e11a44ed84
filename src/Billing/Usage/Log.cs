using Microsoft.Extensions.Logging;

namespace Broker.Billing.Usage;

internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Usage {RequestId} {ModelGroup}/{DeploymentId} ({Provider}): {PromptTokens} in, {CompletionTokens} out, {LatencyMs:0.0} ms, succeeded {Succeeded}")]
    public static partial void UsageRecorded(ILogger logger, Guid requestId, string modelGroup, string deploymentId, string provider, int promptTokens, int completionTokens, double latencyMs, bool succeeded);
}
