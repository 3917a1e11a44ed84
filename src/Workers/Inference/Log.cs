using Microsoft.Extensions.Logging;

namespace Broker.Workers.Inference;

internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Completed {RequestId} on {ModelGroup}/{DeploymentId} ({Provider}) in {ElapsedMs} ms")]
    public static partial void Completed(ILogger logger, Guid requestId, string modelGroup, string deploymentId, string provider, double elapsedMs);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Failed {RequestId} on {ModelGroup}/{DeploymentId} ({Provider}): {ErrorClass} {StatusCode} {ErrorMessage}")]
    public static partial void Failed(ILogger logger, Guid requestId, string modelGroup, string deploymentId, string provider, string errorClass, int statusCode, string errorMessage);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Dropped {RequestId} for {ModelGroup}: its deadline passed while queued")]
    public static partial void Expired(ILogger logger, Guid requestId, string modelGroup);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Consuming {ModelGroup} from queue {Queue} with concurrency {Concurrency}")]
    public static partial void Consuming(ILogger logger, string modelGroup, string queue, int concurrency);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Stopped streaming {RequestId} for {ModelGroup}: {Reason}")]
    public static partial void StreamCancelled(ILogger logger, Guid requestId, string modelGroup, string reason);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Dropped {RequestId} attempt {Attempt} for {ModelGroup}: another copy of it ran, or the retry saga gave up on it")]
    public static partial void AttemptTaken(ILogger logger, Guid requestId, int attempt, string modelGroup);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Discarded the late answer of {RequestId} attempt {Attempt} on {ModelGroup}/{DeploymentId}: the retry saga gave up on it (not answered, not billed)")]
    public static partial void LateAnswer(ILogger logger, Guid requestId, int attempt, string modelGroup, string deploymentId);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Information, Message = "Stopped consuming the queue of model group {ModelGroup}: it was removed (deleted or gone from config.yaml) and its queue drained")]
    public static partial void RuntimeEndpointStopped(ILogger logger, string modelGroup);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Warning, Message = "Could not connect the queue of runtime model group {ModelGroup}: {Error} {Reason}")]
    public static partial void RuntimeEndpointFailed(ILogger logger, string modelGroup, string error, string reason);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Information, Message = "Model group {ModelGroup} was removed: finishing what its queue holds, then it stops consuming")]
    public static partial void Draining(ILogger logger, string modelGroup);

    [LoggerMessage(EventId = 2033, Level = LogLevel.Information, Message = "Concurrency of model group {ModelGroup} changed from {From} to {To}: its queue is reconnected with the new limit")]
    public static partial void ConcurrencyChanged(ILogger logger, string modelGroup, int from, int to);

    [LoggerMessage(EventId = 2034, Level = LogLevel.Warning, Message = "Concurrency of model group {ModelGroup} changed from {From} to {To} in config.yaml: a queue this worker consumed since start-up keeps its limit until a restart")]
    public static partial void StaticConcurrencyChanged(ILogger logger, string modelGroup, int from, int to);
}
