using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Alerts;

namespace Broker.Billing.Alerts;

/// <summary>
/// A generic webhook per alert kind (alert_to_webhook_url, else WEBHOOK_URL), with LiteLLM's webhook event fields:
/// spend, max_budget, token, user_id, team_id, user_email, key_alias, projected_exceeded_date, projected_spend,
/// event, event_group, event_message (plus alert_type, level and timestamp).
/// </summary>
public sealed class WebhookAlertChannel(AlertingOptions options, IHttpClientFactory httpClients) : IAlertChannel
{
    private static readonly string[] NumberFields = ["spend", "max_budget", "projected_spend", "soft_budget"];

    private static readonly string[] StandardFields =
        ["spend", "max_budget", "token", "user_id", "team_id", "user_email", "key_alias", "projected_exceeded_date", "projected_spend"];

    public string Name => "webhook";

    public bool Accepts(AlertRaised alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return options.Webhook && options.WebhookUrlOf(alert.Kind) is not null;
    }

    public async Task SendAsync(AlertRaised alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var url = options.WebhookUrlOf(alert.Kind) ?? throw new InvalidOperationException("no webhook URL");
        using var client = httpClients.CreateClient(AlertingRegistration.HttpClientName);
        using var response = await client.PostAsJsonAsync(url, Payload(alert), cancellationToken);
        await AlertDeliveryException.EnsureSuccessAsync(response, "webhook", cancellationToken);
    }

    public static JsonObject Payload(AlertRaised alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var payload = new JsonObject();
        foreach (var field in StandardFields)
        {
            payload[field] = Value(field, alert.Data.TryGetValue(field, out var v) ? v : null);
        }

        payload["event"] = alert.Data.TryGetValue("event", out var e) && e is not null ? e : alert.Kind;
        payload["event_group"] = alert.Data.TryGetValue("event_group", out var g) && g is not null ? g : GroupOf(alert.Kind);
        payload["event_message"] = alert.Data.TryGetValue("event_message", out var m) && m is not null ? m : alert.Message;
        payload["alert_type"] = alert.Kind;
        payload["level"] = alert.Level;
        payload["timestamp"] = alert.RaisedAt.ToString("O", CultureInfo.InvariantCulture);
        foreach (var (key, value) in alert.Data)
        {
            if (!payload.ContainsKey(key))
            {
                payload[key] = Value(key, value);
            }
        }

        return payload;
    }

    private static JsonValue? Value(string field, string? value)
    {
        if (value is null)
        {
            return null;
        }

        return NumberFields.Contains(field, StringComparer.Ordinal) &&
            decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number)
            : JsonValue.Create(value);
    }

    private static string GroupOf(string kind) => kind switch
    {
        AlertKinds.BudgetAlerts => "proxy",
        AlertKinds.SpendReports => "spend_report",
        _ => "system",
    };
}
