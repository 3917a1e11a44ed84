using Broker.Host.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Ingress, workers and billing as separate hosts over the real local RabbitMQ (one virtual host per test).</summary>
public sealed class DistributedChatCompletionsTests(RabbitMqFixture rabbit) : ChatCompletionsTestsBase, IClassFixture<RabbitMqFixture>
{
    private string? _virtualHost;
    private Uri? _url;

    protected override async Task<BrokerRunner> StartBrokerAsync(string yaml, IReadOnlyDictionary<string, string> env)
    {
        (_url, _virtualHost) = await rabbit.CreateVirtualHostAsync();
        return await BrokerRunner.StartDistributedAsync(yaml, _url, env);
    }

    [Fact]
    public async Task Queues_Distributed_ReportEachGroupsQueueWithItsConsumer()
    {
        // the management API's statistics lag a few seconds behind a new queue
        System.Text.Json.Nodes.JsonNode? gpt = null;
        System.Text.Json.Nodes.JsonNode? body = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "queues");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MasterKey);
            using var response = await Broker.Http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            gpt = body["queues"]!.AsArray().Single(q => q!["model_group"]!.GetValue<string>() == "gpt-4o")!;
            if (gpt["consumers"]?.GetValue<long>() == 1 && gpt["messages_ready"]?.GetValue<long>() == 0)
            {
                break;
            }

            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal("rabbitmq", body!["transport"]!.GetValue<string>());
        Assert.Equal("model-group.gpt-4o", gpt!["queue"]!.GetValue<string>());
        Assert.Equal(1, gpt["consumers"]?.GetValue<long>());
        Assert.Equal(0, gpt["messages_ready"]?.GetValue<long>());

        using var anonymous = await Broker.Http.GetAsync("queues");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
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

    [Fact]
    public async Task CompleteChat_GroupWithoutWorkers_TimesOutWith504AndOtherGroupsServe()
    {
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            var yaml = $$"""
                model_list:
                  - model_name: served
                    litellm_params: {model: openai/a, mock_response: "served answer"}
                  - model_name: unserved
                    litellm_params: {model: openai/b, mock_response: "never"}
                router_settings:
                  timeout: 2
                """;
            await using var broker = await BrokerRunner.StartAsync(yaml, null, url,
                [(Composition.BrokerRoles.Workers, ["served"]), (Composition.BrokerRoles.Ingress, [])]);

            using var ok = await broker.Http.PostAsync("v1/chat/completions", Json("""{"model":"served","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(System.Net.HttpStatusCode.OK, ok.StatusCode);

            using var timedOut = await broker.Http.PostAsync("v1/chat/completions", Json("""{"model":"unserved","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(System.Net.HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
            var body = System.Text.Json.Nodes.JsonNode.Parse(await timedOut.Content.ReadAsStringAsync())!.AsObject();
            AssertOpenAiError(body, "timeout", "timeout");
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_virtualHost is not null)
        {
            await rabbit.DeleteVirtualHostAsync(_virtualHost);
        }
    }
}
