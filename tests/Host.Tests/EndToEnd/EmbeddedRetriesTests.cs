using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Retries and fallbacks with every role in one process (in-memory bus, saga state in memory).</summary>
public sealed class EmbeddedRetriesTests : RetriesTestsBase
{
    protected override Task<BrokerRunner> StartBrokerAsync(string yaml) => BrokerRunner.StartEmbeddedAsync(yaml);
}
