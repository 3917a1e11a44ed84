using System.Net;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Routing;

/// <summary>litellm_params.max_retries: a deployment's own retry count replaces router_settings.num_retries for its failures.</summary>
public sealed class DeploymentMaxRetriesTests
{
    [Fact]
    public async Task CompleteChat_DeploymentMaxRetries_OverridesRouterNumRetries()
    {
        await using var never = await FakeUpstream.StartOpenAiAsync();
        await using var once = await FakeUpstream.StartOpenAiAsync();
        await using var router = await FakeUpstream.StartOpenAiAsync();
        foreach (var fake in new[] { never, once, router })
        {
            fake.Failure = (500, """{"error":{"message":"upstream broke","type":"server_error"}}""", null);
        }

        var yaml = $$"""
            model_list:
              - model_name: never
                litellm_params: {model: openai/x, api_base: "{{never.BaseUrl}}/v1", api_key: k, max_retries: 0}
              - model_name: once
                litellm_params: {model: openai/x, api_base: "{{once.BaseUrl}}/v1", api_key: k, max_retries: 1}
              - model_name: router
                litellm_params: {model: openai/x, api_base: "{{router.BaseUrl}}/v1", api_key: k}
            router_settings:
              num_retries: 2
              disable_cooldowns: true
            general_settings:
              master_key: {{MasterKey}}
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml);

        foreach (var group in new[] { "never", "once", "router" })
        {
            var (status, body, _) = await ChatAsync(broker.Http, MasterKey, group);
            Assert.True(status == HttpStatusCode.InternalServerError, $"{group}: {status} {body}");
            AssertOpenAiError(body);
        }

        Assert.Single(never.Requests);
        Assert.Equal(2, once.Requests.Count);
        Assert.Equal(3, router.Requests.Count);
    }
}
