using Broker.Contracts.Alerts;
using MassTransit;

namespace Broker.Billing.Usage;

/// <summary>Raises a <c>db_exceptions</c> alert when spend cannot be written; at most once a minute per process.</summary>
public sealed class DatabaseAlerts(TimeProvider timeProvider)
{
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(1);
    private long _lastTicks = long.MinValue;

    public async Task RaiseAsync(IPublishEndpoint publisher, Exception error, int pending)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(error);
        var now = timeProvider.GetUtcNow();
        var last = Interlocked.Read(ref _lastTicks);
        if (last != long.MinValue && now.UtcTicks - last < Every.Ticks ||
            Interlocked.CompareExchange(ref _lastTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        try
        {
            await publisher.Publish(new AlertRaised
            {
                Kind = "db_exceptions",
                DedupeKey = "db_exceptions:spend_write",
                Level = "High",
                Message = $"Spend could not be written to the database ({error.GetType().Name}: {error.Message}); {pending} event(s) stay queued and are retried.",
                RaisedAt = now,
                Data = new Dictionary<string, string?>
                {
                    ["event"] = "db_exceptions",
                    ["error"] = error.Message,
                    ["pending_events"] = pending.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
            }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // an alert that cannot be sent never stops spend from being retried
        }
    }
}
