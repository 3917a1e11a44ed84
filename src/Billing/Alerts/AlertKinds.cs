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

    /// <summary>A deployment's calls keep failing with timeouts or server errors (minor, then major outage).</summary>
    public const string OutageAlerts = "outage_alerts";

    /// <summary>Calls to the deployments of one <c>region_name</c> keep failing with timeouts or server errors.</summary>
    public const string RegionOutageAlerts = "region_outage_alerts";

    /// <summary>How a request that moved to a fallback group ended (raised by the Workers).</summary>
    public const string FallbackReports = "fallback_reports";

    // raised by the Ingress after a management write (Broker.Ingress.Alerts.ManagementAlerts)
    public const string NewModelAdded = "new_model_added";
    public const string NewVirtualKeyCreated = "new_virtual_key_created";
    public const string VirtualKeyUpdated = "virtual_key_updated";
    public const string VirtualKeyDeleted = "virtual_key_deleted";
    public const string NewTeamCreated = "new_team_created";
    public const string TeamUpdated = "team_updated";
    public const string TeamDeleted = "team_deleted";
    public const string NewInternalUserCreated = "new_internal_user_created";
    public const string InternalUserUpdated = "internal_user_updated";
    public const string InternalUserDeleted = "internal_user_deleted";

    /// <summary>The kinds raised from finished requests (<see cref="UsageAlertsConsumer"/>).</summary>
    public static IReadOnlyList<string> FromUsage { get; } = [LlmExceptions, LlmTooSlow, OutageAlerts, RegionOutageAlerts];

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
