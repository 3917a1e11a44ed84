using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Xunit.Abstractions;

namespace Broker.Host.Tests.Bus;

/// <summary>Broker's durable queues are quorum queues by default (classic on request); temporary ones stay classic.</summary>
[Collection(RabbitMqCollection.Name)]
[Trait("Category", "Integration")]
public sealed class QueueTypeTests(RabbitMqFixture rabbit, ITestOutputHelper output)
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
