using Microsoft.Extensions.Logging;

namespace Broker.Billing.Budgets;

internal static partial class Log
{
    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Budgets reset: {Count} {EntityType}(s)")]
    public static partial void BudgetsReset(ILogger logger, int count, string entityType);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Budget reset deferred: {Reason}")]
    public static partial void ResetDeferred(ILogger logger, string reason);
}
