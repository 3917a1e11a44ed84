using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

public sealed class AlertingSettingsTests
{
    [Fact]
    public void Load_AlertingKeys_TypedWithoutWarningsOrNotActiveNotes()
    {
        var result = Fixtures.Text("""
            model_list: [{model_name: a, litellm_params: {model: gpt-4o}}]
            litellm_settings:
              success_callback: ["langfuse"]
              failure_callback: ["sentry"]
              redact_user_api_key_info: true
              turn_off_message_logging: true
            general_settings:
              alerting: ["slack", "webhook"]
              alerting_threshold: 120
              alert_types: ["llm_exceptions", "budget_alerts"]
              alerting_args:
                spend_report_frequency: 1d
                budget_alert_ttl: 3600
                alert_ttl: 5m
                alert_emails: ["ops@example.com", "oncall@example.com"]
              alert_to_webhook_url:
                budget_alerts: https://hooks.example.com/b
            """);

        Assert.True(result.IsUsable);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity is ConfigSeverity.Warning or ConfigSeverity.Info);
        var g = result.Config!.GeneralSettings;
        Assert.Equal(["llm_exceptions", "budget_alerts"], g.AlertTypes);
        Assert.Equal(TimeSpan.FromSeconds(120), g.AlertingThreshold);
        Assert.Equal(TimeSpan.FromHours(1), g.AlertingArgs!.BudgetAlertTtl);
        Assert.Equal(TimeSpan.FromMinutes(5), g.AlertingArgs.AlertTtl);
        Assert.Equal(["ops@example.com", "oncall@example.com"], g.AlertingArgs.AlertEmails);
    }

    [Fact]
    public void Load_NoAlertTypes_NullMeansEveryKind()
    {
        var result = Fixtures.Text("""
            model_list: [{model_name: a, litellm_params: {model: gpt-4o}}]
            general_settings: {alerting: ["slack"]}
            """);

        Assert.Null(result.Config!.GeneralSettings.AlertTypes);
    }
}
