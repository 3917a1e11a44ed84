using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Bus;

public static class BusRegistration
{
    /// <summary>Registers a role's part of the bus; <see cref="AddBrokerBus"/> gathers them all.</summary>
    public static IHostApplicationBuilder AddBusContribution(this IHostApplicationBuilder builder, IBusContribution contribution)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(contribution);
        return builder;
    }

    /// <summary>
    /// One MassTransit bus for the process, on RabbitMQ or in memory, with every role's consumers and endpoints.
    /// Call after the roles' Add methods.
    /// </summary>
    public static IHostApplicationBuilder AddBrokerBus(this IHostApplicationBuilder builder, BusOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        options = WithQueueSettings(options, builder.Configuration);
        var contributions = builder.Services
            .Where(d => d.ServiceType == typeof(IBusContribution) && d.ImplementationInstance is not null)
            .Select(d => (IBusContribution)d.ImplementationInstance!)
            .ToList();
        builder.Services.AddSingleton(options);
        var queues = new DurableQueueTopology(options);
        builder.Services.AddSingleton(queues);
        if (options.IsDistributed)
        {
            // before MassTransit's hosted service: refuses to start over queues of the other type (a classic queue left
            // from an older Broker) with a message that names `broker migrate-queues`, instead of endpoints that fault
            builder.Services.AddHostedService<QueueTypeCheck>();
        }

        builder.Services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            // MassTransit reports usage telemetry to usage-tracking.masstransit.io by default: no call leaves the
            // machine to a party the user did not configure, so it is off unless MASSTRANSIT_USAGE_TELEMETRY=true
            // (MassTransit reads that variable itself and it wins over this option)
            x.ConfigureUsageTelemetryOptions(o => o.Enabled = false);
            // a message that fails all its retries is logged and alerted on before it moves to <queue>_error
            x.AddConfigureEndpointsCallback((context, _, endpoint) => endpoint.UseBrokerDeadLetters(context));
            foreach (var contribution in contributions)
            {
                contribution.AddConsumers(x);
            }

            if (options.RabbitMqUrl is { } url)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    ConfigureHost(cfg, url, options.ClusterNodes);
                    ReconnectBackoff.Shorten(cfg);
                    LostChannelWait.Shorten(cfg);
                    cfg.ConnectEndpointConfigurationObserver(queues);
                    // a consumer still running when the connection dropped must not keep the other endpoints from reconnecting
                    cfg.ConnectEndpointConfigurationObserver(new LostConnectionRelease.Installer(new LostConnectionRelease(
                        context.GetService<TimeProvider>() ?? TimeProvider.System, context.GetRequiredService<ILogger<LostConnectionRelease>>())));
                    // <queue>_error and <queue>_skipped copy their queue's arguments: they stay plain classic queues, so
                    // the forwards and tools that declare them without arguments (replay-errors, Billing's set-aside) agree
                    cfg.SendTopology.ConfigureErrorSettings = PlainQueue;
                    cfg.SendTopology.ConfigureDeadLetterSettings = PlainQueue;
                    Configure(context, cfg, contributions);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => Configure(context, cfg, contributions));
            }
        });

        builder.Services.AddSingleton<DelayedSend>();

        // after AddMassTransit: starts once the bus has started
        builder.Services.AddSingleton<InstanceEndpoint>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InstanceEndpoint>());

        // graceful shutdown: stopping the bus first stops consuming (prefetched, unstarted messages go back to the
        // queue), then waits for the consumers in flight to finish; one still running after Workers:DrainSeconds
        // (default 30; Bus:ConsumerStopTimeoutSeconds is the older name) is cancelled and its unacknowledged message goes
        // to another worker. The host's ShutdownTimeout is raised to cover the drain (BrokerApp adds the Ingress's).
        var consumerStop = Seconds(builder.Configuration["Workers:DrainSeconds"]) ?? Seconds(builder.Configuration["Bus:ConsumerStopTimeoutSeconds"]) ?? 30;
        builder.Services.Configure<MassTransitHostOptions>(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
            o.StopTimeout = TimeSpan.FromSeconds(consumerStop + 10);
            o.ConsumerStopTimeout = TimeSpan.FromSeconds(consumerStop);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout += TimeSpan.FromSeconds(consumerStop));
        return builder;
    }

    private static double? Seconds(string? value) =>
        double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? seconds
            : null;

    /// <summary>
    /// The queue settings from the host configuration: BROKER_QUEUE_TYPE (or Bus:QueueType) quorum|classic,
    /// Bus:QueueDeliveryLimit, Bus:QuorumReplicationFactor, RABBITMQ_CLUSTER_NODES (host:port,host:port...).
    /// </summary>
    public static BusOptions WithQueueSettings(BusOptions options, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        var typeText = configuration["BROKER_QUEUE_TYPE"] ?? configuration["Bus:QueueType"];
        var type = QueueArguments.ParseType(typeText)
            ?? throw new InvalidOperationException($"BROKER_QUEUE_TYPE must be quorum or classic, not '{typeText}'");
        var limit = PositiveInt(configuration["Bus:QueueDeliveryLimit"]) ?? options.DeliveryLimit;
        var replicas = PositiveInt(configuration["Bus:QuorumReplicationFactor"]) ?? options.ReplicationFactor;
        var nodes = (configuration["RABBITMQ_CLUSTER_NODES"] ?? configuration["Bus:ClusterNodes"] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return options with
        {
            QueueType = type,
            DeliveryLimit = limit,
            ReplicationFactor = replicas,
            ClusterNodes = nodes.Length > 0 ? nodes : options.ClusterNodes,
        };
    }

    private static void PlainQueue(IRabbitMqQueueBindingConfigurator queue)
    {
        foreach (var key in QueueArguments.For(new BusOptions(), "queue").Keys)
        {
            queue.SetQueueArgument(key, null);
        }

        queue.SetQueueArgument("x-quorum-initial-group-size", null);
    }

    private static int? PositiveInt(string? value) =>
        int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;

    /// <summary>amqp://user:pass@host:port/vhost → MassTransit host settings (the default vhost is "/").</summary>
    private static void ConfigureHost(IRabbitMqBusFactoryConfigurator cfg, Uri url, IReadOnlyList<string> clusterNodes)
    {
        var vhost = Uri.UnescapeDataString(url.AbsolutePath.TrimStart('/'));
        var userInfo = url.UserInfo.Split(':', 2);
        var port = url.IsDefaultPort || url.Port <= 0 ? (url.Scheme == "amqps" ? 5671 : 5672) : url.Port;
        cfg.Host(url.Host, (ushort)port, vhost.Length == 0 ? "/" : vhost, h =>
        {
            if (userInfo[0].Length > 0)
            {
                h.Username(Uri.UnescapeDataString(userInfo[0]));
                h.Password(userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "");
            }

            if (url.Scheme == "amqps")
            {
                h.UseSsl(s => s.Protocol = System.Security.Authentication.SslProtocols.Tls12);
            }

            // a peer that vanished without closing the connection (network cut) is noticed within two heartbeats
            h.Heartbeat(TimeSpan.FromSeconds(5));
            h.RequestedConnectionTimeout(TimeSpan.FromSeconds(5));
            if (clusterNodes.Count > 0)
            {
                // connect to the first node that answers; after a node is lost, reconnect to another
                h.UseCluster(c =>
                {
                    foreach (var node in clusterNodes)
                    {
                        c.Node(node);
                    }
                });
            }
        });
    }

    private static void Configure<T>(IBusRegistrationContext context, IBusFactoryConfigurator<T> cfg, List<IBusContribution> contributions)
        where T : IReceiveEndpointConfigurator
    {
        foreach (var contribution in contributions)
        {
            contribution.ConfigureEndpoints(context, cfg);
        }

        cfg.ConfigureEndpoints(context);
    }
}
