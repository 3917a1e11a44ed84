using Broker.Host.Tests.Infrastructure;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broker.Host.Tests.Bus;

public sealed class BusRegistrationTests
{
    [Fact]
    public async Task Bus_Default_MassTransitUsageTelemetryOff()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync("""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/gpt-4o, api_base: "http://127.0.0.1:9/v1", api_key: k }
            """);

        // MassTransit's UsageTracker reads these options (MASSTRANSIT_USAGE_TELEMETRY=true still turns it on)
        var options = broker.Hosts[0].Services.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value;

        Assert.False(options.Enabled);
    }

    /// <summary>
    /// Both replace MassTransit 8.5 internals (the RabbitMQ host configuration behind the configurator): a MassTransit
    /// upgrade that moves them must fail here, not silently bring back minute-long recoveries after an outage.
    /// </summary>
    [Fact]
    public async Task Shorten_MassTransitRabbitMqConfigurator_FindsWhatItReplaces()
    {
        bool? backoff = null;
        bool? wait = null;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMassTransit(x => x.UsingRabbitMq((_, cfg) =>
        {
            backoff = ReconnectBackoff.Shorten(cfg);
            wait = LostChannelWait.Shorten(cfg);
        }));
        await using var provider = services.BuildServiceProvider();

        // building the bus runs the configuration; nothing connects before it is started
        _ = provider.GetRequiredService<IBusControl>();

        Assert.True(backoff);
        Assert.True(wait);
    }
}
