using Broker.Host.Tests.Infrastructure;
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
}
