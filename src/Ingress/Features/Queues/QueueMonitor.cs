using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Observability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Features.Queues;

/// <summary>
/// Reads each model group's queue depth (ready, unacked, consumers, oldest message age) from the RabbitMQ
/// management API (RABBITMQ_MANAGEMENT_URL, else port 15672 of RABBITMQ_URL's host with its credentials),
/// every few seconds, for <c>GET /queues</c> and the <c>broker_queue_*</c> gauges. In-memory: depths are unknown.
/// </summary>
public sealed partial class QueueMonitor : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly IProxyConfigProvider _config;
    private readonly BusOptions _bus;
    private readonly IHttpClientFactory _httpClientFactory;
    private readonly Uri? _managementUrl;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<QueueMonitor> _logger;
    private volatile IReadOnlyList<QueueDepth> _snapshot = [];
    private bool _warned;

    public QueueMonitor(
        IProxyConfigProvider config, BusOptions bus, IConfiguration configuration, IHttpClientFactory httpClientFactory,
        BrokerMetrics metrics, TimeProvider timeProvider, ILogger<QueueMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(metrics);
        _config = config;
        _bus = bus;
        _httpClientFactory = httpClientFactory;
        _timeProvider = timeProvider;
        _logger = logger;
        _managementUrl = ManagementUrl(configuration["RABBITMQ_MANAGEMENT_URL"], bus.RabbitMqUrl);
        _snapshot = Unknown();
        metrics.Meter.CreateObservableGauge("broker_queue_messages_ready", () => Measure(q => q.MessagesReady));
        metrics.Meter.CreateObservableGauge("broker_queue_messages_unacknowledged", () => Measure(q => q.MessagesUnacknowledged));
        metrics.Meter.CreateObservableGauge("broker_queue_consumers", () => Measure(q => q.Consumers));
    }

    public string Transport => _bus.IsDistributed ? "rabbitmq" : "in-memory";

    public IReadOnlyList<QueueDepth> Snapshot => _snapshot;

    /// <summary>Reads the depths now (what <c>GET /queues</c> shows).</summary>
    public async Task<IReadOnlyList<QueueDepth>> RefreshAsync(CancellationToken cancellationToken)
    {
        if (_managementUrl is null)
        {
            return _snapshot;
        }

        var vhost = _bus.RabbitMqUrl!.AbsolutePath.TrimStart('/');
        vhost = vhost.Length == 0 ? "/" : Uri.UnescapeDataString(vhost);
        try
        {
            using var client = _httpClientFactory.CreateClient(nameof(QueueMonitor));
            client.Timeout = TimeSpan.FromSeconds(3);
            using var request = new HttpRequestMessage(HttpMethod.Get,
                new Uri(_managementUrl, $"api/queues/{Uri.EscapeDataString(vhost)}?columns=name,messages_ready,messages_unacknowledged,consumers,head_message_timestamp"));
            if (_managementUrl.UserInfo.Length > 0)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(_managementUrl.UserInfo))));
            }

            using var response = await client.SendAsync(request, cancellationToken);
            response.EnsureSuccessStatusCode();
            var queues = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) as JsonArray ?? [];
            var byName = queues.OfType<JsonObject>().Where(q => q["name"] is not null).ToDictionary(q => q["name"]!.GetValue<string>());
            var now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
            _snapshot = _config.Current.ModelGroups.Select(g =>
            {
                byName.TryGetValue(g.QueueName, out var q);
                var head = (long?)q?["head_message_timestamp"];
                return new QueueDepth(g.Name, g.QueueName, (long?)q?["messages_ready"], (long?)q?["messages_unacknowledged"], (long?)q?["consumers"],
                    head is { } t ? Math.Max(0, now - t) : null, g.Concurrency(_config.Current.GeneralSettings));
            }).ToList();
            _warned = false;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            if (!_warned)
            {
                _warned = true;
                ManagementUnreachable(_logger, _managementUrl.Host, _managementUrl.Port, ex.Message);
            }
        }

        return _snapshot;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_managementUrl is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, _timeProvider);
        do
        {
            await RefreshAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private List<QueueDepth> Unknown() =>
        _config.Current.ModelGroups.Select(g => new QueueDepth(g.Name, g.QueueName, null, null, null, null,
            g.Concurrency(_config.Current.GeneralSettings))).ToList();

    private IEnumerable<Measurement<long>> Measure(Func<QueueDepth, long?> value) =>
        _snapshot.Where(q => value(q) is not null)
            .Select(q => new Measurement<long>(value(q)!.Value, new KeyValuePair<string, object?>("queue", q.Queue), new KeyValuePair<string, object?>("model_group", q.ModelGroup)));

    private static Uri? ManagementUrl(string? configured, Uri? amqp)
    {
        if (amqp is null)
        {
            // the in-memory bus has no RabbitMQ queues, whatever RABBITMQ_MANAGEMENT_URL says
            return null;
        }

        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new Uri(configured.EndsWith('/') ? configured : configured + "/");
        }

        return new UriBuilder("http", amqp.Host, 15672) { UserName = amqp.UserInfo.Split(':')[0], Password = amqp.UserInfo.Split(':').ElementAtOrDefault(1) ?? "" }.Uri;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "RabbitMQ management API at {Host}:{Port} does not answer ({Reason}): queue depths unknown")]
    private static partial void ManagementUnreachable(ILogger logger, string host, int port, string reason);
}
