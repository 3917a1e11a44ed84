using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>The Responses API with all roles in one process on MassTransit's in-memory transport.</summary>
public sealed class EmbeddedResponsesTests : ResponsesTestsBase
{
    protected override Task<BrokerRunner> StartBrokerAsync(string yaml) => BrokerRunner.StartEmbeddedAsync(yaml);
}
