using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Alerts;

namespace Broker.Billing.Alerts;

/// <summary>
/// Slack incoming webhook (alerting_args.slack_webhook_url, else SLACK_WEBHOOK_URL): <c>{"text": ...}</c>.
/// alert_channels maps a kind to a channel (<c>#budget</c>, sent as <c>channel</c>) or to another webhook URL.
/// </summary>
public sealed class SlackAlertChannel(AlertingOptions options, IHttpClientFactory httpClients) : IAlertChannel
{
    public string Name => "slack";

    public bool Accepts(AlertRaised alert) => options.Slack && UrlOf(alert) is not null;

    public async Task SendAsync(AlertRaised alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var url = UrlOf(alert) ?? throw new InvalidOperationException("no Slack webhook URL");
        var payload = new JsonObject { ["text"] = Text(alert) };
        if (ChannelOf(alert) is { } channel && !IsUrl(channel))
        {
            payload["channel"] = channel;
        }

        using var client = httpClients.CreateClient(AlertingRegistration.HttpClientName);
        using var response = await client.PostAsJsonAsync(url, payload, cancellationToken);
        await AlertDeliveryException.EnsureSuccessAsync(response, "Slack", cancellationToken);
    }

    /// <summary>The message as LiteLLM lays it out: level, time, then the text.</summary>
    public static string Text(AlertRaised alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return $"*Alert type:* `{alert.Kind}`\n*Level:* `{alert.Level}`\n*Timestamp:* `{alert.RaisedAt.ToString("u", CultureInfo.InvariantCulture)}`\n\n*Message:* {alert.Message}";
    }

    private string? UrlOf(AlertRaised alert) =>
        ChannelOf(alert) is { } channel && IsUrl(channel) ? channel : options.SlackWebhookUrl;

    private string? ChannelOf(AlertRaised alert)
    {
        foreach (var key in AlertKinds.WebhookKeys(alert.Kind))
        {
            if (options.AlertChannels.TryGetValue(key, out var channel) && channel.Length > 0)
            {
                return channel;
            }
        }

        return null;
    }

    private static bool IsUrl(string value) =>
        value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
}
