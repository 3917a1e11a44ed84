using Microsoft.Extensions.Logging;

namespace Broker.Workers.Retries;

internal static partial class Log
{
    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Request {RequestId}: {Step} attempt {Attempt} on {ModelGroup} after {ErrorClass} {StatusCode} (wait {DelayMs} ms)")]
    public static partial void NextAttempt(ILogger logger, Guid requestId, string step, int attempt, string modelGroup, string errorClass, int statusCode, double delayMs);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Request {RequestId} for {ModelGroup} failed after {Attempts} attempts: no retries or fallbacks left ({AttemptHistory})")]
    public static partial void Exhausted(ILogger logger, Guid requestId, string modelGroup, int attempts, string attemptHistory);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Debug, Message = "Request {RequestId}: ignored a report of attempt {Attempt}, attempt {Current} runs already")]
    public static partial void StaleReport(ILogger logger, Guid requestId, int attempt, int current);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Information, Message = "Retry saga state and attempt tickets are kept in {SagaStore}")]
    public static partial void StoreKind(ILogger logger, string sagaStore);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Warning, Message = "Request {RequestId}: attempt {Attempt} on {ModelGroup} neither answered nor reported within {ElapsedMs} ms; given up")]
    public static partial void AttemptTimedOut(ILogger logger, Guid requestId, int attempt, string modelGroup, double elapsedMs);

    [LoggerMessage(EventId = 2306, Level = LogLevel.Information, Message = "Request {RequestId} answered after {Attempts} attempts ({AttemptHistory})")]
    public static partial void Answered(ILogger logger, Guid requestId, int attempts, string attemptHistory);

    [LoggerMessage(EventId = 2307, Level = LogLevel.Warning, Message = "Request {RequestId}: no step timeout for attempt {Attempt} (the broker's wait queues are unavailable)")]
    public static partial void NoStepTimeout(ILogger logger, Guid requestId, int attempt);

    [LoggerMessage(EventId = 2309, Level = LogLevel.Warning, Message = "Request {RequestId}: the retry saga could not store its state ({Reason}); answered with attempt {Attempt}'s own error {StatusCode}, no retry or fallback tried")]
    public static partial void AnsweredWithoutSaga(ILogger logger, Guid requestId, int attempt, int statusCode, string reason);

    [LoggerMessage(EventId = 2310, Level = LogLevel.Error, Message = "Request {RequestId}: the retry saga could not store its state, nor answer the caller ({Reason}); its report is dead-lettered")]
    public static partial void AnswerWithoutSagaFailed(ILogger logger, Guid requestId, string reason);

    [LoggerMessage(EventId = 2311, Level = LogLevel.Warning, Message = "Request {RequestId}: attempt {Attempt} on {Queue} could not take its ticket ({Reason}); answered with {StatusCode}, the attempt did not run")]
    public static partial void AttemptAnsweredWithoutTicket(ILogger logger, Guid requestId, int attempt, string queue, int statusCode, string reason);

    [LoggerMessage(EventId = 2312, Level = LogLevel.Error, Message = "Request {RequestId}: an attempt whose ticket could not be taken could not be answered either ({Reason}); the command is dead-lettered")]
    public static partial void AttemptAnswerFailed(ILogger logger, Guid requestId, string reason);
}
