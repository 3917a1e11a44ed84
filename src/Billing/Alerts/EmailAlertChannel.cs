using System.Text;
using Broker.Contracts.Alerts;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Broker.Billing.Alerts;

/// <summary>
/// Email over SMTP (MailKit) with LiteLLM's settings (SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD,
/// SMTP_SENDER_EMAIL, SMTP_TLS), to alerting_args.alert_emails / ALERT_EMAILS and, for a budget alert, the user's
/// own user_email.
/// </summary>
public sealed class EmailAlertChannel(AlertingOptions options) : IAlertChannel
{
    public string Name => "email";

    public bool Accepts(AlertRaised alert) => options.Email && options.Smtp is not null && Recipients(alert).Count > 0;

    public async Task SendAsync(AlertRaised alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var smtp = options.Smtp ?? throw new InvalidOperationException("SMTP_HOST is not set");
        using var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(smtp.Sender));
        foreach (var to in Recipients(alert))
        {
            message.To.Add(MailboxAddress.Parse(to));
        }

        message.Subject = $"Broker alert: {alert.Kind} ({alert.Level})";
        message.Body = new TextPart("plain") { Text = Body(alert) };

        using var client = new SmtpClient { Timeout = 30_000 };
        await client.ConnectAsync(smtp.Host, smtp.Port,
            smtp.UseTls ? (smtp.Port == 465 ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTlsWhenAvailable) : SecureSocketOptions.None,
            cancellationToken);
        if (smtp.Username is { } user && client.Capabilities.HasFlag(SmtpCapabilities.Authentication))
        {
            await client.AuthenticateAsync(user, smtp.Password ?? "", cancellationToken);
        }

        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(true, cancellationToken);
    }

    public static string Body(AlertRaised alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var text = new StringBuilder();
        text.Append("Alert type: ").AppendLine(alert.Kind);
        text.Append("Level: ").AppendLine(alert.Level);
        text.Append("Timestamp: ").AppendLine(alert.RaisedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
        text.AppendLine();
        text.AppendLine(alert.Message);
        if (alert.Data.Count > 0)
        {
            text.AppendLine();
            foreach (var (key, value) in alert.Data)
            {
                text.Append(key).Append(": ").AppendLine(value ?? "");
            }
        }

        return text.ToString();
    }

    private List<string> Recipients(AlertRaised alert)
    {
        var list = new List<string>(options.EmailRecipients);
        if (alert.Kind == AlertKinds.BudgetAlerts && alert.Data.TryGetValue("user_email", out var email) && !string.IsNullOrWhiteSpace(email) &&
            !list.Contains(email, StringComparer.OrdinalIgnoreCase))
        {
            list.Add(email);
        }

        return list;
    }
}
