using Microsoft.Extensions.Logging;

namespace Broker.Billing.Usage;

internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Usage {RequestId} {ModelGroup}/{DeploymentId} ({Provider}): {PromptTokens} in, {CompletionTokens} out, {LatencyMs:0.0} ms, succeeded {Succeeded}")]
    public static partial void UsageRecorded(ILogger logger, Guid requestId, string modelGroup, string deploymentId, string provider, int promptTokens, int completionTokens, double latencyMs, bool succeeded);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Spend batch: {Received} event(s), {Inserted} new, {Entities} total(s) updated in {ElapsedMs:0.0} ms")]
    public static partial void SpendWritten(ILogger logger, int received, int inserted, int entities, double elapsedMs);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Spend batch of {Count} event(s) not written, it stays queued and is retried: {Reason}")]
    public static partial void SpendWriteFailed(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "No database_url: {Count} usage event(s) counted in memory only")]
    public static partial void NoDatabase(ILogger logger, int count);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Spend batch of {Count} event(s) refused by the database, writing each event on its own: {Reason}")]
    public static partial void SpendBatchRefused(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Usage event {RequestId} (message {MessageId}) could not be written and was moved to {ErrorQueue}; its spend is not counted until `broker replay-errors` brings it back: {Reason}")]
    public static partial void SpendEventDeadLettered(ILogger logger, Guid requestId, string? messageId, string errorQueue, string reason);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "Guardrail decisions of {Count} request(s) after queuing: {Inserted} new")]
    public static partial void GuardrailsKept(ILogger logger, int count, int inserted);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Attempt history of {Count} usage event(s) refused by the database, their spend is written: {Reason}")]
    public static partial void AttemptsRefused(ILogger logger, int count, string reason);
}
