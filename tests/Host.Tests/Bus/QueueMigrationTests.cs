using System.Text;
using Broker.Host.Cli;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using RabbitMQ.Client;

namespace Broker.Host.Tests.Bus;

/// <summary>
/// Upgrading from classic queues: Broker refuses to start over them with a message naming `broker migrate-queues`, and
/// that command turns them into quorum queues without losing a message.
/// </summary>
[Trait("Category", "Integration")]
public sealed class QueueMigrationTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly string[] LeftQueues = ["model-group.gpt-4o", "chat-completion-retries", "broker.wait.1000"];

    [Fact]
    public async Task MigrateQueues_ClassicQueuesWithMessages_QuorumAndEveryMessageKept()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        var path = Path.Combine(Path.GetTempPath(), $"broker-migrate-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, QueueTypeTests.Config(upstream));
        try
        {
            // what an older Broker left: classic queues (the model group's bound to its exchange), messages waiting
            var sent = await LeaveClassicQueuesAsync(url);

            // a Broker that would declare quorum queues refuses to start over them, and says what to do
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => BrokerRunner.StartAsync(QueueTypeTests.Config(upstream), null, url, [(BrokerRoles.Workers, [])]));
            Assert.Contains("migrate-queues", refused.Message, StringComparison.Ordinal);
            Assert.Contains("model-group.gpt-4o", refused.Message, StringComparison.Ordinal);

            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await BrokerCli.InvokeAsync(["migrate-queues", "--config", path], stdout, stderr,
                name => name == "RABBITMQ_URL" ? url.ToString() : null);
            Assert.True(code == 0, $"{stdout}\n{stderr}");

            var queues = await rabbit.GetQueuesAsync(vhost);
            foreach (var name in LeftQueues)
            {
                var queue = queues.Single(q => q!["name"]!.GetValue<string>() == name)!;
                Assert.Equal("quorum", queue["type"]!.GetValue<string>());
            }

            Assert.DoesNotContain(queues, q => q!["name"]!.GetValue<string>().EndsWith(QueueMigrator.TemporarySuffix, StringComparison.Ordinal));
            Assert.Equal(sent, await ReadAllAsync(url));
            // the model group's queue is bound to its exchange again: what is sent there still arrives
            await using (var connection = await new ConnectionFactory { Uri = url }.CreateConnectionAsync())
            await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true)))
            {
                await channel.BasicPublishAsync("model-group.gpt-4o", "", true, new BasicProperties(), Encoding.UTF8.GetBytes("after"));
                Assert.Equal(1u, (await channel.QueueDeclarePassiveAsync("model-group.gpt-4o")).MessageCount);
                await channel.QueuePurgeAsync("model-group.gpt-4o");
            }

            // and now it starts
            await using var broker = await BrokerRunner.StartAsync(QueueTypeTests.Config(upstream), null, url, [(BrokerRoles.Workers, [])]);
        }
        finally
        {
            File.Delete(path);
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private static async Task<SortedSet<string>> LeaveClassicQueuesAsync(Uri url)
    {
        var sent = new SortedSet<string>(StringComparer.Ordinal);
        await using var connection = await new ConnectionFactory { Uri = url }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        foreach (var name in LeftQueues)
        {
            var arguments = name.StartsWith("broker.wait.", StringComparison.Ordinal)
                ? new Dictionary<string, object?> { ["x-message-ttl"] = 1000L, ["x-dead-letter-exchange"] = "" }
                : null;
            await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, arguments: arguments);
            await channel.ExchangeDeclareAsync(name, ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(name, name, "");
            // the wait queue's message would expire into a queue that does not exist: only the others hold messages
            for (var i = 0; i < (arguments is null ? 5 : 0); i++)
            {
                var body = $"{name}#{i}";
                await channel.BasicPublishAsync("", name, true, new BasicProperties { Persistent = true, MessageId = body, Headers = new Dictionary<string, object?> { ["n"] = i } },
                    Encoding.UTF8.GetBytes(body));
                sent.Add($"{body}|{body}|{i}");
            }
        }

        return sent;
    }

    private static async Task<SortedSet<string>> ReadAllAsync(Uri url)
    {
        var read = new SortedSet<string>(StringComparer.Ordinal);
        await using var connection = await new ConnectionFactory { Uri = url }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var name in LeftQueues)
        {
            while (await channel.BasicGetAsync(name, autoAck: true) is { } message)
            {
                var n = message.BasicProperties.Headers?["n"];
                read.Add($"{Encoding.UTF8.GetString(message.Body.Span)}|{message.BasicProperties.MessageId}|{n}");
            }
        }

        return read;
    }
}
