
namespace Broker.Host.Composition;

internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "{Diagnostic}")]
    public static partial void ConfigWarning(ILogger logger, string diagnostic);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "{Diagnostic}")]
    public static partial void ConfigNotActive(ILogger logger, string diagnostic);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "No master_key (general_settings.master_key or LITELLM_MASTER_KEY): the gateway is OPEN, every request is accepted")]
    public static partial void OpenGateway(ILogger logger);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Broker started: roles {Roles}, transport {Transport}, {GroupCount} model groups from {ConfigPath}")]
    public static partial void Started(ILogger logger, string roles, string transport, int groupCount, string configPath);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "--num_workers {NumWorkers} accepted for LiteLLM compatibility; Broker is multi-threaded in one process and scales by running more processes")]
    public static partial void NumWorkersIgnored(ILogger logger, int numWorkers);
}
