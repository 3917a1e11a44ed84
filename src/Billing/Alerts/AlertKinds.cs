namespace Broker.Billing.Alerts;

/// <summary>LiteLLM's alert types (<c>general_settings.alert_types</c>).</summary>
public static class AlertKinds
{
    public const string BudgetAlerts = "budget_alerts";
    public const string LlmExceptions = "llm_exceptions";
    public const string LlmTooSlow = "llm_too_slow";
    public const string LlmRequestsHanging = "llm_requests_hanging";
    public const string CooldownDeployment = "cooldown_deployment";
    public const string SpendReports = "spend_reports";
    public const string DbExceptions = "db_exceptions";

    /// <summary>A usage event Billing could not write and moved to <c>billing.usage-recorded_error</c> (LiteLLM's name).</summary>
    public const string FailedTrackingSpend = "failed_tracking_spend";

    /// <summary>Any other message a consumer gave up on and moved to its <c>_error</c> queue.</summary>
    public const string DeadLetteredMessages = "dead_lettered_messages";

    /// <summary>The alert_to_webhook_url keys LiteLLM's docs use for a kind, besides the kind itself.</summary>
    public static IEnumerable<string> WebhookKeys(string kind)
    {
        yield return kind;
        switch (kind)
        {
            case BudgetAlerts:
                yield return "budget_alert";
                break;
            case SpendReports:
                yield return "spend_report";
                yield return "daily_reports";
                break;
            default:
                yield return "system_alerts";
                yield return "system_alert";
                break;
        }
    }
}
