using Broker.Billing.Alerts;
using Broker.Config.Loading;

namespace Broker.Billing.Tests.Alerts;

public sealed class AlertingOptionsTests
{
    [Theory]
    [InlineData("1d", 86400)]
    [InlineData("12h", 43200)]
    [InlineData("30m", 1800)]
    [InlineData("2w", 1209600)]
    [InlineData("90", 90)]
    [InlineData("1.5h", 5400)]
    public void ParseFrequency_UnitOrSeconds_Duration(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), AlertingOptions.ParseFrequency(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("0d")]
    public void ParseFrequency_MissingOrInvalid_Null(string? text) => Assert.Null(AlertingOptions.ParseFrequency(text));

    [Fact]
    public void From_ConfigAndEnvironment_ChannelsUrlsAndWindows()
    {
        var options = Load("""
            general_settings:
              alerting: ["Slack", "webhook"]
              alert_types: ["llm_exceptions", "budget_alerts"]
              alert_to_webhook_url:
                budget_alert: https://hooks.example.com/budget
                system_alert: https://hooks.example.com/system
            environment_variables:
              SLACK_WEBHOOK_URL: https://slack.example.com/from-config
              ALERT_EMAILS: "a@example.com, b@example.com"
            """, new Dictionary<string, string> { ["SLACK_WEBHOOK_URL"] = "https://slack.example.com/from-process", ["WEBHOOK_URL"] = "https://hooks.example.com/default" });

        Assert.True(options.Slack);
        Assert.True(options.Webhook);
        Assert.False(options.Email);
        Assert.True(options.IsOn("llm_exceptions"));
        Assert.False(options.IsOn("llm_too_slow"));
        Assert.Equal("https://slack.example.com/from-config", options.SlackWebhookUrl);
        Assert.Equal("https://hooks.example.com/budget", options.WebhookUrlOf("budget_alerts"));
        Assert.Equal("https://hooks.example.com/system", options.WebhookUrlOf("llm_exceptions"));
        Assert.Equal("https://hooks.example.com/default", options.WebhookUrlOf("spend_reports"));
        Assert.Equal(["a@example.com", "b@example.com"], options.EmailRecipients);
        Assert.Equal(AlertingOptions.DefaultThreshold, options.Threshold);
        Assert.Equal(TimeSpan.FromHours(24), options.TtlOf("budget_alerts"));
        Assert.Equal(TimeSpan.FromMinutes(10), options.TtlOf("llm_exceptions"));
        Assert.Null(options.Smtp);
    }

    [Fact]
    public void From_NoAlerting_EveryKindOff()
    {
        var options = Load("general_settings: {alert_types: [llm_exceptions]}", new Dictionary<string, string>());

        Assert.False(options.AnyChannel);
        Assert.False(options.IsOn("llm_exceptions"));
    }

    [Theory]
    [InlineData("general_settings: {alerting: [slack]}", true)]
    [InlineData("general_settings: {alerting: [webhook], alert_types: [llm_too_slow]}", true)]
    [InlineData("general_settings: {alerting: [webhook], alert_types: [region_outage_alerts]}", true)]
    [InlineData("general_settings: {alerting: [webhook], alert_types: [budget_alerts, spend_reports, cooldown_deployment]}", false)]
    [InlineData("general_settings: {alert_types: [llm_exceptions]}", false)]
    [InlineData("general_settings: {}", false)]
    public void WatchesUsage_AlertKindsFromFinishedRequests_OnlyWhenOneIsSent(string yaml, bool expected) =>
        Assert.Equal(expected, Load(yaml, []).WatchesUsage);

    private static AlertingOptions Load(string yaml, Dictionary<string, string> processEnv)
    {
        var loaded = ProxyConfigLoader.LoadText("model_list: [{model_name: a, litellm_params: {model: gpt-4o}}]\n" + yaml, "config.yaml", _ => null);
        Assert.True(loaded.IsUsable, string.Join("\n", loaded.Errors));
        return AlertingOptions.From(loaded.Config!, new ConfigEnvironment(loaded.Config!, name => processEnv.TryGetValue(name, out var v) ? v : null));
    }
}
