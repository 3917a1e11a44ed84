using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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
        var contributions = builder.Services
            .Where(d => d.ServiceType == typeof(IBusContribution) && d.ImplementationInstance is not null)
            .Select(d => (IBusContribution)d.ImplementationInstance!)
            .ToList();
        builder.Services.AddSingleton(options);

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
                    ConfigureHost(cfg, url);
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

    /// <summary>amqp://user:pass@host:port/vhost → MassTransit host settings (the default vhost is "/").</summary>
    private static void ConfigureHost(IRabbitMqBusFactoryConfigurator cfg, Uri url)
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
