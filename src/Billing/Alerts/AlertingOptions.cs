using System.Globalization;
using Broker.Config.Model;

namespace Broker.Billing.Alerts;

/// <summary>
/// general_settings.alerting, alert_types, alerting_threshold, alerting_args and alert_to_webhook_url, with the
/// environment they name (SLACK_WEBHOOK_URL, WEBHOOK_URL, SMTP_*, ALERT_EMAILS), resolved once.
/// </summary>
public sealed record AlertingOptions
{
    /// <summary>LiteLLM's alerting_threshold default: 300 s.</summary>
    public static readonly TimeSpan DefaultThreshold = TimeSpan.FromSeconds(300);

    public bool Slack { get; init; }

    public bool Email { get; init; }

    public bool Webhook { get; init; }

    /// <summary>alert_types; null = every kind.</summary>
    public IReadOnlySet<string>? Types { get; init; }

    public TimeSpan Threshold { get; init; } = DefaultThreshold;

    public string? SlackWebhookUrl { get; init; }

    /// <summary>alert_channels: kind → Slack channel (<c>#name</c>, sent as <c>channel</c>) or another incoming-webhook URL.</summary>
    public IReadOnlyDictionary<string, string> AlertChannels { get; init; } = new Dictionary<string, string>();

    /// <summary>alert_to_webhook_url: kind → URL.</summary>
    public IReadOnlyDictionary<string, string> WebhookUrls { get; init; } = new Dictionary<string, string>();

    /// <summary>WEBHOOK_URL: the webhook for kinds alert_to_webhook_url does not name.</summary>
    public string? DefaultWebhookUrl { get; init; }

    public SmtpSettings? Smtp { get; init; }

    public IReadOnlyList<string> EmailRecipients { get; init; } = [];

    public TimeSpan BudgetAlertTtl { get; init; } = TimeSpan.FromHours(24);

    public TimeSpan AlertTtl { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>alerting_args.spend_report_frequency (<c>1d</c>, <c>12h</c>, <c>7d</c>); null = no spend reports.</summary>
    public TimeSpan? SpendReportFrequency { get; init; }

    public bool AnyChannel => Slack || Email || Webhook;

    /// <summary>Whether any kind raised from finished requests is on: llm_exceptions, llm_too_slow, outage_alerts, region_outage_alerts.</summary>
    public bool WatchesUsage => AlertKinds.FromUsage.Any(IsOn);

    /// <summary>Whether alerts of <paramref name="kind"/> are sent at all (some channel on, kind in alert_types).</summary>
    public bool IsOn(string kind) => AnyChannel && (Types is null || Types.Contains(kind));

    /// <summary>The de-duplication window for a kind.</summary>
    public TimeSpan TtlOf(string kind) => kind == AlertKinds.BudgetAlerts ? BudgetAlertTtl : AlertTtl;

    /// <summary>The webhook URL for a kind: alert_to_webhook_url (by the kind or LiteLLM's group name), else WEBHOOK_URL.</summary>
    public string? WebhookUrlOf(string kind)
    {
        foreach (var key in AlertKinds.WebhookKeys(kind))
        {
            if (WebhookUrls.TryGetValue(key, out var url) && url.Length > 0)
            {
                return url;
            }
        }

        return DefaultWebhookUrl;
    }

    public static AlertingOptions From(ProxyConfig config, ConfigEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(env);
        var g = config.GeneralSettings;
        var args = g.AlertingArgs;
        var channels = new HashSet<string>(g.Alerting.Select(a => a.Trim().ToLowerInvariant()), StringComparer.Ordinal);
        var recipients = new List<string>(args?.AlertEmails ?? []);
        if (env.Get("ALERT_EMAILS") is { } fromEnv)
        {
            recipients.AddRange(fromEnv.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return new AlertingOptions
        {
            Slack = channels.Contains("slack"),
            Email = channels.Contains("email"),
            Webhook = channels.Contains("webhook"),
            Types = g.AlertTypes is { } types ? new HashSet<string>(types, StringComparer.Ordinal) : null,
            Threshold = g.AlertingThreshold is { } t && t > TimeSpan.Zero ? t : DefaultThreshold,
            SlackWebhookUrl = args?.SlackWebhookUrl?.Value ?? env.Get("SLACK_WEBHOOK_URL") ?? env.Get("ALERTING_WEBHOOK_URL"),
            AlertChannels = args?.AlertChannels ?? new Dictionary<string, string>(),
            WebhookUrls = g.AlertToWebhookUrl,
            DefaultWebhookUrl = env.Get("WEBHOOK_URL"),
            Smtp = SmtpSettings.From(env),
            EmailRecipients = recipients.Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
            BudgetAlertTtl = args?.BudgetAlertTtl is { } b && b > TimeSpan.Zero ? b : TimeSpan.FromHours(24),
            AlertTtl = args?.AlertTtl is { } a && a > TimeSpan.Zero ? a : TimeSpan.FromMinutes(10),
            SpendReportFrequency = ParseFrequency(args?.SpendReportFrequency),
        };
    }

    /// <summary><c>1d</c>, <c>12h</c>, <c>30m</c>, <c>2w</c> or plain seconds.</summary>
    public static TimeSpan? ParseFrequency(string? text) =>
        LiteLlmDuration.TryParse(text, out var d) && d.Length > TimeSpan.Zero ? d.Length : null;
}

/// <summary>SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_SENDER_EMAIL, SMTP_TLS (LiteLLM's email settings).</summary>
public sealed record SmtpSettings(string Host, int Port, string? Username, string? Password, string Sender, bool UseTls)
{
    public static SmtpSettings? From(ConfigEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (env.Get("SMTP_HOST") is not { } host)
        {
            return null;
        }

        var port = int.TryParse(env.Get("SMTP_PORT"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : 587;
        var tls = env.Get("SMTP_TLS") is not { } t || !(t.Equals("false", StringComparison.OrdinalIgnoreCase) || t == "0" || t.Equals("no", StringComparison.OrdinalIgnoreCase));
        return new SmtpSettings(host, port, env.Get("SMTP_USERNAME"), env.Get("SMTP_PASSWORD"),
            env.Get("SMTP_SENDER_EMAIL") ?? "broker-alerts@localhost", tls);
    }

    public override string ToString() => $"{Host}:{Port} as {Username ?? "(anonymous)"}";
}
