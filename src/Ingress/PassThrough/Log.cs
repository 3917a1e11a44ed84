using Microsoft.Extensions.Logging;

namespace Broker.Ingress.PassThrough;

internal static partial class Log
{
    [LoggerMessage(EventId = 3951, Level = LogLevel.Information, Message = "Pass-through {Path} -> {Target} (include_subpath {IncludeSubpath}, auth {Auth})")]
    public static partial void Mapped(ILogger logger, string path, string target, bool includeSubpath, bool auth);

    [LoggerMessage(EventId = 3952, Level = LogLevel.Warning, Message = "Pass-through {Path} to {Target} failed: {Error} ({Reason})")]
    public static partial void ForwardFailed(ILogger logger, string path, string target, string error, string reason);

    [LoggerMessage(EventId = 3953, Level = LogLevel.Warning, Message = "Could not record the usage of pass-through call {RequestId}: {Reason}")]
    public static partial void UsageNotPublished(ILogger logger, Guid requestId, string reason);
}
