using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Models;

internal static partial class Log
{
    [LoggerMessage(EventId = 5501, Level = LogLevel.Information, Message = "Runtime models reloaded: {Count} stored model(s) in force, {Groups} model group(s) in all")]
    public static partial void Reloaded(ILogger logger, int count, int groups);

    [LoggerMessage(EventId = 5502, Level = LogLevel.Warning, Message = "Runtime model {ModelGroup} (id {DeploymentId}) is left out: {Errors}")]
    public static partial void ModelSkipped(ILogger logger, string modelGroup, string deploymentId, string errors);

    [LoggerMessage(EventId = 5503, Level = LogLevel.Warning, Message = "Runtime models could not be reloaded from the state store ({Error}: {Reason}); the models in force stay")]
    public static partial void ReloadFailed(ILogger logger, string error, string reason);

    [LoggerMessage(EventId = 5504, Level = LogLevel.Warning, Message = "ModelsChanged could not be published ({Error}); other processes pick the change up at their next reload")]
    public static partial void NotAnnounced(ILogger logger, string error);
}
