using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Ui;

internal static partial class Log
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Admin UI sign-in by {Who}")]
    public static partial void SignedIn(ILogger logger, string who);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Admin UI sign-in refused ({Reason}) for {Who}")]
    public static partial void SignInRefused(ILogger logger, string reason, string who);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Admin UI sign-in by SSO ({Provider}) of user {UserId}, admin {IsAdmin}")]
    public static partial void SsoSignedIn(ILogger logger, string provider, string userId, bool isAdmin);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Admin UI sign-in by SSO ({Provider}) refused: {Code}: {Reason}")]
    public static partial void SsoRefused(ILogger logger, string provider, string code, string reason);
}
