using Broker.Contracts.Inference;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Routing;

internal static partial class Log
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Cooling down {ModelGroup}/{DeploymentId} for {CooldownSeconds} s after {Failures} failures this minute ({ErrorClass} {StatusCode})")]
    public static partial void CooledDown(ILogger logger, string modelGroup, string deploymentId, double cooldownSeconds, long failures, ProviderErrorClass errorClass, int statusCode);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Debug, Message = "{RequestId} waits for a slot in {ModelGroup}: every deployment is at its limit")]
    public static partial void Waiting(ILogger logger, Guid requestId, string modelGroup);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "{RequestId} for {ModelGroup} refused: {Reason}")]
    public static partial void Refused(ILogger logger, Guid requestId, string modelGroup, string reason);
}
