using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Legacy completions with all roles in one process on MassTransit's in-memory transport.</summary>
public sealed class EmbeddedCompletionsLegacyTests : CompletionsLegacyTestsBase
{
    protected override Task<BrokerRunner> StartBrokerAsync(string yaml) => BrokerRunner.StartEmbeddedAsync(yaml);
}
