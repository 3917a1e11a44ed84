using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Ui;

internal static partial class Log
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Admin UI sign-in by {Who}")]
    public static partial void SignedIn(ILogger logger, string who);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Admin UI sign-in refused ({Reason}) for {Who}")]
    public static partial void SignInRefused(ILogger logger, string reason, string who);
}
