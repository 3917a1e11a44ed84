using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Features.Batches;

internal static partial class Log
{
    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Batch {BatchId} validated: {Lines} lines, in progress")]
    public static partial void BatchStarted(ILogger logger, string batchId, int lines);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "Batch {BatchId} failed validation with {Errors} errors")]
    public static partial void BatchFailedValidation(ILogger logger, string batchId, int errors);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Information, Message = "Batch {BatchId} {Status}: {Completed} completed, {Failed} failed")]
    public static partial void BatchFinished(ILogger logger, string batchId, string status, int completed, int failed);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Warning, Message = "Batch dispatcher: {Step} failed, retrying shortly")]
    public static partial void StepFailed(ILogger logger, Exception exception, string step);

    [LoggerMessage(EventId = 1705, Level = LogLevel.Information, Message = "Batch dispatcher running: at most {Fraction:P0} of each model group's concurrency for batch lines")]
    public static partial void Started(ILogger logger, double fraction);

    [LoggerMessage(EventId = 1706, Level = LogLevel.Error, Message = "Batch {BatchId} could not be validated (attempt {Attempt} of {MaxAttempts}); it is marked failed after the last")]
    public static partial void BatchValidationError(ILogger logger, Exception exception, string batchId, int attempt, int maxAttempts);
}
