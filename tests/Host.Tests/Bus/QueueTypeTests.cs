using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Xunit.Abstractions;

namespace Broker.Host.Tests.Bus;

/// <summary>Broker's durable queues are quorum queues by default (classic on request); temporary ones stay classic.</summary>
[Trait("Category", "Integration")]
public sealed class QueueTypeTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task Start_Default_EveryDurableQueueIsQuorumWithDeliveryLimitAndDeadLettering()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using (var broker = await BrokerRunner.StartDistributedAsync(Config(upstream), url))
            {
                Assert.Equal(HttpStatusCode.OK, await ChatAsync(broker.Http));
                var queues = await rabbit.GetQueuesAsync(vhost);
                output.WriteLine(queues.ToJsonString());
                var durable = queues.Where(q => !Temporary(q!)).Select(q => q!).ToList();
                foreach (var name in new[] { "model-group.gpt-4o", "chat-completion-retries", "billing.usage-recorded" })
                {
                    Assert.Contains(durable, q => Name(q) == name);
                }

                foreach (var queue in durable.Where(q => !Name(q).EndsWith("_error", StringComparison.Ordinal) && !Name(q).EndsWith("_skipped", StringComparison.Ordinal)))
                {
                    Assert.True(Type(queue) == "quorum", $"{Name(queue)} is {Type(queue)}");
                    Assert.Equal(20, queue["arguments"]!["x-delivery-limit"]!.GetValue<int>());
                    Assert.Equal(Name(queue) + "_error", queue["arguments"]!["x-dead-letter-routing-key"]!.GetValue<string>());
                    Assert.Equal("at-least-once", queue["arguments"]!["x-dead-letter-strategy"]!.GetValue<string>());
                }

                // replies, stream chunks and cache events: per-process auto-delete queues, which quorum queues cannot be
                var temporary = queues.Where(q => Temporary(q!)).ToList();
                Assert.NotEmpty(temporary);
                Assert.All(temporary, q => Assert.Equal("classic", Type(q!)));
            }
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Start_QueueTypeClassic_DurableQueuesAreClassic()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using (var broker = await BrokerRunner.StartAsync(Config(upstream), null, url,
                [(BrokerRoles.Workers | BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["BROKER_QUEUE_TYPE"] = "classic" }))
            {
                Assert.Equal(HttpStatusCode.OK, await ChatAsync(broker.Http));
                var queues = await rabbit.GetQueuesAsync(vhost);
                Assert.Contains(queues, q => Name(q!) == "model-group.gpt-4o");
                Assert.All(queues, q => Assert.Equal("classic", Type(q!)));
            }
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task DeliveryLimit_MessageNeverSettled_DeadLetteredToItsErrorQueue()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            // the queues as a worker declares them; then no consumer, so the test plays the one that keeps dying
            await using (await BrokerRunner.StartAsync(Config(upstream), null, url, [(BrokerRoles.Workers, [])],
                new Dictionary<string, string?> { ["Bus:QueueDeliveryLimit"] = "2" }))
            {
            }

            const string queue = "model-group.gpt-4o";
            await using var connection = await new RabbitMQ.Client.ConnectionFactory { Uri = url }.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync(new RabbitMQ.Client.CreateChannelOptions(true, true));
            await channel.BasicPublishAsync("", queue, true, new RabbitMQ.Client.BasicProperties { MessageId = "poison" }, Encoding.UTF8.GetBytes("poison"));
            // handed out and never settled (a consumer whose process dies on it), again and again
            for (var i = 0; i < 10 && await channel.BasicGetAsync(queue, autoAck: false) is { } delivery; i++)
            {
                await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
            }

            var watch = System.Diagnostics.Stopwatch.StartNew();
            uint dead;
            while ((dead = (await channel.QueueDeclarePassiveAsync(queue + "_error")).MessageCount) == 0 && watch.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(100);
            }

            Assert.Equal(1u, dead);
            Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(queue)).MessageCount);
            var letter = await channel.BasicGetAsync(queue + "_error", autoAck: true);
            Assert.Equal("poison", letter?.BasicProperties.MessageId);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    internal static string Config(FakeUpstream upstream) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
        """;

    internal static async Task<HttpStatusCode> ChatAsync(HttpClient http)
    {
        using var content = new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("v1/chat/completions", content);
        return response.StatusCode;
    }

    internal static bool Temporary(JsonNode queue) => queue["auto_delete"]!.GetValue<bool>() || queue["exclusive"]!.GetValue<bool>();

    private static string Name(JsonNode queue) => queue["name"]!.GetValue<string>();

    private static string Type(JsonNode queue) => queue["type"]!.GetValue<string>();
}
