using Broker.Host.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Ingress, workers and billing as separate hosts over the real local RabbitMQ (one virtual host per test).</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class DistributedChatCompletionsTests(RabbitMqFixture rabbit) : ChatCompletionsTestsBase
{
    private string? _virtualHost;
    private Uri? _url;

    protected override async Task<BrokerRunner> StartBrokerAsync(string yaml, IReadOnlyDictionary<string, string> env)
    {
        (_url, _virtualHost) = await rabbit.CreateVirtualHostAsync();
        return await BrokerRunner.StartDistributedAsync(yaml, _url, env);
    }

    [Fact]
    public async Task CompleteChat_Distributed_GroupQueuesExistInRabbitMq()
    {
        var result = await Sdk().GetChatClient("gpt-4o").CompleteChatAsync([new OpenAI.Chat.UserChatMessage("hi")]);
        Assert.Equal("Hello from the fake provider", result.Value.Content[0].Text);

        var factory = new ConnectionFactory { Uri = _url! };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in new[] { "model-group.gpt-4o", "model-group.claude", "model-group.slow", "model-group.mocked" })
        {
            var declared = await channel.QueueDeclarePassiveAsync(queue);
            Assert.Equal(1u, declared.ConsumerCount);
            Assert.Equal(0u, declared.MessageCount);
        }
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
