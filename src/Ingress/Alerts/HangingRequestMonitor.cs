using System.Globalization;
using Broker.Config;
using Broker.Contracts.Alerts;
using Broker.Ingress.Inference;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Alerts;

/// <summary>
/// <c>llm_requests_hanging</c>: looks at the requests this Ingress instance is waiting on (no reply, or a stream with no
/// first chunk) every quarter of alerting_threshold (between 1 and 60 s) and raises an alert for each one older than
/// the threshold (LiteLLM's default 300 s), once per request; the alert's key is the model group, so Billing sends one
/// message per group per de-duplication window however many requests hang.
/// </summary>
public sealed class HangingRequestMonitor(
    InferenceClient client, IProxyConfigProvider config, IBus bus, TimeProvider timeProvider, ILogger<HangingRequestMonitor> logger) : BackgroundService
{
    public const string Kind = "llm_requests_hanging";

    private readonly HashSet<Guid> _reported = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var general = config.Current.GeneralSettings;
        if (general.Alerting.Count == 0 || (general.AlertTypes is { } types && !types.Contains(Kind, StringComparer.Ordinal)))
        {
            return;
        }

        var threshold = general.AlertingThreshold is { } t && t > TimeSpan.Zero ? t : TimeSpan.FromSeconds(300);
        var period = TimeSpan.FromTicks(Math.Clamp(threshold.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        using var timer = new PeriodicTimer(period, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await CheckAsync(threshold, stoppingToken);
        }
    }

    private async Task CheckAsync(TimeSpan threshold, CancellationToken cancellationToken)
    {
        var outstanding = client.Outstanding();
        _reported.IntersectWith(outstanding.Select(o => o.RequestId));
        foreach (var request in outstanding)
        {
            if (request.Age < threshold || !_reported.Add(request.RequestId))
            {
                continue;
            }

            var group = config.Current.ModelGroups.FirstOrDefault(g => g.QueueName == request.Queue)?.Name ?? request.Queue;
            Log.RequestHanging(logger, request.RequestId, request.Queue, request.Age.TotalSeconds, threshold.TotalSeconds);
            await bus.Publish(new AlertRaised
            {
                Kind = Kind,
                DedupeKey = $"{Kind}:{group}",
                Level = "Medium",
                Message = $"Requests are hanging: `{request.RequestId}` to `{group}` has had no answer for {request.Age.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s (alerting_threshold {threshold.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s)",
                RaisedAt = timeProvider.GetUtcNow(),
                Data = new Dictionary<string, string?>(StringComparer.Ordinal)
                {
                    ["model_group"] = group,
                    ["queue"] = request.Queue,
                    ["request_id"] = request.RequestId.ToString(),
                    ["waiting_seconds"] = request.Age.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture),
                },
            }, cancellationToken);
        }
    }
}
