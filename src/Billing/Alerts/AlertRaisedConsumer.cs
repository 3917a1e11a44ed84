using Broker.Contracts.Alerts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Alerts;

/// <summary>
/// Delivers each alert to every channel that takes it (Slack, email, webhook), each at most once per de-duplication
/// window, each retried with backoff on its own. Runs on its own endpoint, so a slow or failing channel never holds
/// back spend writes. A channel that still fails after its retries makes the message fail (MassTransit retries it
/// later); the channels that had already taken it are not sent it again.
/// </summary>
public sealed class AlertRaisedConsumer(
    AlertingOptions options,
    IEnumerable<IAlertChannel> channels,
    AlertDeduplicator deduplicator,
    DeliveryRetry retry,
    ILogger<AlertRaisedConsumer> logger) : IConsumer<AlertRaised>
{
    public async Task Consume(ConsumeContext<AlertRaised> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var alert = context.Message;
        if (!options.IsOn(alert.Kind))
        {
            Log.AlertOff(logger, alert.Kind, alert.DedupeKey);
            return;
        }

        var results = await Task.WhenAll(channels.Where(c => c.Accepts(alert)).Select(c => DeliverAsync(c, alert, context.CancellationToken)));
        var failed = results.Where(r => r is not null).ToList();
        if (failed.Count > 0)
        {
            throw new AlertDeliveryException($"alert {alert.Kind} ({alert.DedupeKey}) not delivered to {string.Join(", ", failed)}");
        }
    }

    /// <summary>Null when delivered (or already delivered within the window); the channel's name when it failed.</summary>
    private async Task<string?> DeliverAsync(IAlertChannel channel, AlertRaised alert, CancellationToken cancellationToken)
    {
        if (!await deduplicator.TryClaimAsync(channel.Name, alert.DedupeKey, options.TtlOf(alert.Kind)))
        {
            Log.AlertDuplicate(logger, alert.Kind, alert.DedupeKey, channel.Name);
            return null;
        }

        try
        {
            await retry.ExecuteAsync(alert.Kind, channel.Name, ct => channel.SendAsync(alert, ct), cancellationToken);
            Log.AlertSent(logger, alert.Kind, alert.DedupeKey, channel.Name);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // the channel's own failure (HTTP, SMTP, socket): give the claim back so the next attempt sends it
            await deduplicator.ReleaseAsync(channel.Name, alert.DedupeKey);
            Log.AlertFailed(logger, alert.Kind, alert.DedupeKey, channel.Name, ex.Message);
            return channel.Name;
        }
        catch (OperationCanceledException)
        {
            await deduplicator.ReleaseAsync(channel.Name, alert.DedupeKey);
            throw;
        }
    }
}
