using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>All roles in one process on MassTransit's in-memory transport.</summary>
public sealed class EmbeddedChatCompletionsTests : ChatCompletionsTestsBase
{
    protected override Task<BrokerRunner> StartBrokerAsync(string yaml, IReadOnlyDictionary<string, string> env) =>
        BrokerRunner.StartEmbeddedAsync(yaml, env);
}
