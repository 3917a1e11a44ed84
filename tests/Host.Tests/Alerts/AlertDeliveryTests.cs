using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Alerts;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.Alerts;

/// <summary>
/// Alert delivery through a running broker (Billing's alert consumer) to real local receivers: a fake Slack incoming
/// webhook, a fake generic webhook and a fake SMTP server.
/// </summary>
public sealed class AlertDeliveryTests
{
    private static readonly Dictionary<string, string?> FastRetries = new() { ["Alerts:RetryDelayMs"] = "200" };

    [Fact]
    public async Task RaiseAlert_SlackEmailAndWebhook_EachChannelGetsItsPayload()
    {
        await using var slack = await FakeReceiver.StartAsync();
        await using var webhook = await FakeReceiver.StartAsync();
        await using var smtp = FakeSmtpServer.Start();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, slack, webhook, smtp), settings: FastRetries);

        await PublishAsync(broker, Budget("budget:key:abc:exceeded"));

        var slackPost = Assert.Single(await slack.WaitForAsync(r => r.Count >= 1));
        Assert.Equal("/services/T000/B000/XXX", slackPost.Path);
        var slackBody = JsonNode.Parse(slackPost.Body)!;
        Assert.Equal("#budget-alerts", slackBody["channel"]!.GetValue<string>());
        var text = slackBody["text"]!.GetValue<string>();
        Assert.Contains("budget_alerts", text, StringComparison.Ordinal);
        Assert.Contains("Key sk-...abcd is over its budget", text, StringComparison.Ordinal);
        Assert.Contains("High", text, StringComparison.Ordinal);

        var hook = Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1));
        Assert.Equal("/budget", hook.Path);
        var payload = JsonNode.Parse(hook.Body)!;
        Assert.Equal(12.5m, payload["spend"]!.GetValue<decimal>());
        Assert.Equal(10m, payload["max_budget"]!.GetValue<decimal>());
        Assert.Equal("abc", payload["token"]!.GetValue<string>());
        Assert.Equal("user-1", payload["user_id"]!.GetValue<string>());
        Assert.Equal("team-1", payload["team_id"]!.GetValue<string>());
        Assert.Equal("owner@example.com", payload["user_email"]!.GetValue<string>());
        Assert.Equal("billing-key", payload["key_alias"]!.GetValue<string>());
        Assert.Null(payload["projected_exceeded_date"]);
        Assert.Null(payload["projected_spend"]);
        Assert.Equal("budget_crossed", payload["event"]!.GetValue<string>());
        Assert.Equal("key", payload["event_group"]!.GetValue<string>());
        Assert.Equal("Key Budget: Budget Crossed", payload["event_message"]!.GetValue<string>());
        Assert.Equal("budget_alerts", payload["alert_type"]!.GetValue<string>());

        var mail = Assert.Single(await smtp.WaitForAsync(m => m.Count >= 1));
        Assert.Equal("alerts@broker.test", mail.From);
        Assert.Equal(["ops@example.com", "owner@example.com"], mail.To.Order().ToList());
        Assert.Equal("smtp-user", mail.AuthUser);
        Assert.Contains("Subject: Broker alert: budget_alerts (High)", mail.Data, StringComparison.Ordinal);
        Assert.Contains("Key sk-...abcd is over its budget", mail.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RaiseAlert_SameKeyTwiceWithinTtl_SentOncePerChannel()
    {
        await using var slack = await FakeReceiver.StartAsync();
        await using var webhook = await FakeReceiver.StartAsync();
        await using var smtp = FakeSmtpServer.Start();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, slack, webhook, smtp), settings: FastRetries);

        await PublishAsync(broker, Budget("budget:key:dup:exceeded"));
        await PublishAsync(broker, Budget("budget:key:dup:exceeded"));
        await PublishAsync(broker, Budget("budget:key:dup:exceeded"));
        await slack.WaitForAsync(r => r.Count >= 1);
        await webhook.WaitForAsync(r => r.Count >= 1);
        await smtp.WaitForAsync(m => m.Count >= 1);

        // another key still goes out: once it has arrived everywhere, the duplicates have long been handled
        await PublishAsync(broker, Budget("budget:key:other:exceeded"));
        await slack.WaitForAsync(r => r.Count >= 2);
        await webhook.WaitForAsync(r => r.Count >= 2);
        await smtp.WaitForAsync(m => m.Count >= 2);
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal(2, slack.All.Count);
        Assert.Equal(2, webhook.All.Count);
        Assert.Equal(2, smtp.Mails.Count);
    }

    [Fact]
    public async Task RaiseAlert_WebhookFailsThreeTimes_RetriedUntilDeliveredWhileGatewayKeepsServing()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        webhook.FailFirst = 3;
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            general_settings:
              alerting: ["webhook"]
              alert_to_webhook_url:
                budget_alert: "{{webhook.BaseUrl}}/budget"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        await PublishAsync(broker, Budget("budget:key:flaky:exceeded"));
        var statuses = new List<HttpStatusCode>();
        while (webhook.Accepted.Count == 0 && statuses.Count < 200)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", Chat("gpt-4o"));
            statuses.Add(response.StatusCode);
        }

        var delivered = Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1));
        Assert.Equal(4, webhook.All.Count);
        Assert.All(webhook.All.Take(3), r => Assert.Equal(500, r.Status));
        Assert.Equal("budget_crossed", JsonNode.Parse(delivered.Body)!["event"]!.GetValue<string>());
        Assert.NotEmpty(statuses);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task RaiseAlert_TwoBillingProcessesSharingRedis_SentOnce()
    {
        var redis = Environment.GetEnvironmentVariable("REDIS_URL") ?? "127.0.0.1:6379";
        var (host, port) = (redis.Split(':')[0], redis.Split(':')[1]);
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            router_settings:
              redis_host: {{host}}
              redis_port: {{port}}
            general_settings:
              alerting: ["webhook"]
              alert_to_webhook_url:
                budget_alert: "{{webhook.BaseUrl}}/budget"
            """;
        // two separate brokers (as two Billing processes would be) that share one Redis key space
        var settings = new Dictionary<string, string?>(FastRetries) { ["Redis:KeyPrefix"] = $"broker-test-{Guid.NewGuid():N}" };
        await using var first = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings);
        await using var second = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings);

        await Task.WhenAll(PublishAsync(first, Budget("budget:key:shared:exceeded")), PublishAsync(second, Budget("budget:key:shared:exceeded")));
        await webhook.WaitForAsync(r => r.Count >= 1);
        await PublishAsync(second, Budget("budget:key:shared-2:exceeded"));
        await PublishAsync(first, Budget("budget:key:shared-2:exceeded"));
        await webhook.WaitForAsync(r => r.Count >= 2);
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal(2, webhook.All.Count);
    }

    [Fact]
    public async Task RaiseAlert_AlertChannelsNamesAnotherSlackWebhook_SentThereNotToTheDefault()
    {
        await using var slackDefault = await FakeReceiver.StartAsync();
        await using var slackSpend = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            general_settings:
              alerting: ["slack"]
              alerting_args:
                alert_channels:
                  spend_reports: "{{slackSpend.BaseUrl}}/services/spend"
            environment_variables:
              SLACK_WEBHOOK_URL: "{{slackDefault.BaseUrl}}/services/default"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        await PublishAsync(broker, new AlertRaised
        {
            Kind = "spend_reports",
            DedupeKey = "spend_reports:routing",
            Level = "Low",
            Message = "daily report",
            RaisedAt = DateTimeOffset.UtcNow,
        });
        await PublishAsync(broker, Budget("budget:key:routing:exceeded"));

        var spend = Assert.Single(await slackSpend.WaitForAsync(r => r.Count >= 1));
        var budget = Assert.Single(await slackDefault.WaitForAsync(r => r.Count >= 1));
        Assert.Equal("/services/spend", spend.Path);
        Assert.Contains("daily report", JsonNode.Parse(spend.Body)!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(JsonNode.Parse(spend.Body)!["channel"]);
        Assert.Equal("/services/default", budget.Path);
        Assert.Contains("over its budget", JsonNode.Parse(budget.Body)!["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RaiseAlert_KindNotInAlertTypes_NotSent()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            general_settings:
              alerting: ["webhook"]
              alert_types: ["spend_reports"]
              alert_to_webhook_url:
                budget_alerts: "{{webhook.BaseUrl}}/budget"
                spend_reports: "{{webhook.BaseUrl}}/spend"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        await PublishAsync(broker, Budget("budget:key:off:exceeded"));
        await PublishAsync(broker, new AlertRaised
        {
            Kind = "spend_reports",
            DedupeKey = "spend_reports:test",
            Level = "Low",
            Message = "weekly report",
            RaisedAt = DateTimeOffset.UtcNow,
        });

        var got = Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal("/spend", got.Path);
        Assert.Single(webhook.All);
    }

    internal static Task PublishAsync(BrokerRunner broker, AlertRaised alert) =>
        broker.Hosts[0].Services.GetRequiredService<IBus>().Publish(alert);

    internal static StringContent Chat(string model) =>
        new($$"""{"model": "{{model}}", "messages": [{"role": "user", "content": "Hi"}]}""", Encoding.UTF8, "application/json");

    private static AlertRaised Budget(string dedupeKey) => new()
    {
        Kind = "budget_alerts",
        DedupeKey = dedupeKey,
        Level = "High",
        Message = "Key sk-...abcd is over its budget: $12.50 of $10.00",
        RaisedAt = DateTimeOffset.UtcNow,
        Data = new Dictionary<string, string?>
        {
            ["spend"] = "12.5",
            ["max_budget"] = "10",
            ["token"] = "abc",
            ["user_id"] = "user-1",
            ["team_id"] = "team-1",
            ["user_email"] = "owner@example.com",
            ["key_alias"] = "billing-key",
            ["event"] = "budget_crossed",
            ["event_group"] = "key",
            ["event_message"] = "Key Budget: Budget Crossed",
        },
    };

    private static string Yaml(FakeUpstream upstream, FakeReceiver slack, FakeReceiver webhook, FakeSmtpServer smtp) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
        general_settings:
          alerting: ["slack", "email", "webhook"]
          alerting_args:
            slack_webhook_url: "{{slack.BaseUrl}}/services/T000/B000/XXX"
            alert_channels:
              budget_alerts: "#budget-alerts"
            alert_emails: ["ops@example.com"]
          alert_to_webhook_url:
            budget_alert: "{{webhook.BaseUrl}}/budget"
        environment_variables:
          SMTP_HOST: "127.0.0.1"
          SMTP_PORT: "{{smtp.Port}}"
          SMTP_USERNAME: smtp-user
          SMTP_PASSWORD: smtp-password
          SMTP_SENDER_EMAIL: alerts@broker.test
          SMTP_TLS: "False"
        """;
}
