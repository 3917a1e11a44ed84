using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>The Messages API with all roles in one process on MassTransit's in-memory transport.</summary>
public sealed class EmbeddedMessagesTests : MessagesTestsBase
{
    protected override Task<BrokerRunner> StartBrokerAsync(string yaml) => BrokerRunner.StartEmbeddedAsync(yaml);
}
