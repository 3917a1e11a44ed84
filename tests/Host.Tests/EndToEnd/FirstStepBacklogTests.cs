using System.Net;
using System.Text;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// The first attempt's step timeout and a backlog: an attempt waiting its turn in a queue that workers consume is not
/// given up because the wait was longer than its step (it would lose its place and, with no retry left, fail).
/// </summary>
[Collection(RabbitMqCollection.Name)]
[Trait("Category", "Integration")]
public sealed class FirstStepBacklogTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task CompleteChat_BacklogLongerThanFirstStep_EveryRequestAnsweredOnceNoneGivenUp()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // each call takes 1 s and one worker runs one at a time: the ninth request waits about 8 s in the queue, longer
        // than its step (the deployment's 2 s timeout + 3 s grace)
        upstream.Delay = TimeSpan.FromSeconds(1);
        var redis = RoutingDistributedTests.RequireRedis();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync($$"""
                model_list:
                  - model_name: slow
                    litellm_params: { model: openai/s1, api_base: "{{upstream.BaseUrl}}/v1", api_key: k, timeout: 2 }
                router_settings:
                  timeout: 60
                  num_retries: 0
                """, null, url, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["REDIS_URL"] = redis }, concurrency: 1);

            const int Count = 9;
            var answers = await Task.WhenAll(Enumerable.Range(0, Count).Select(async i =>
            {
                using var content = new StringContent($$"""{"model":"slow","messages":[{"role":"user","content":"hi {{i}}"}]}""", Encoding.UTF8, "application/json");
                using var response = await broker.Http.PostAsync("v1/chat/completions", content);
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            }));

            Assert.All(answers, a => Assert.True(a.StatusCode == HttpStatusCode.OK, $"{(int)a.StatusCode} {a.Body}"));
            // each request called the provider once: none was given up and sent again
            Assert.Equal(Count, upstream.Requests.Count);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }
}
