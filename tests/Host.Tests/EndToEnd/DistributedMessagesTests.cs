using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>The Messages API with ingress, workers and billing as separate hosts over the local RabbitMQ.</summary>
public sealed class DistributedMessagesTests(RabbitMqFixture rabbit) : MessagesTestsBase, IClassFixture<RabbitMqFixture>
{
    private string? _virtualHost;

    protected override async Task<BrokerRunner> StartBrokerAsync(string yaml)
    {
        (var url, _virtualHost) = await rabbit.CreateVirtualHostAsync();
        return await BrokerRunner.StartDistributedAsync(yaml, url);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_virtualHost is not null)
        {
            await rabbit.DeleteVirtualHostAsync(_virtualHost);
        }
    }
}
