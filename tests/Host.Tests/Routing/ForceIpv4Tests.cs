using System.Net;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Routing;

/// <summary>litellm_settings.force_ipv4 through the real path: provider calls resolve the host name to IPv4 and connect.</summary>
public sealed class ForceIpv4Tests
{
    [Fact]
    public async Task CompleteChat_ForceIpv4_ProviderReachedByHostName()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var port = new Uri(upstream.BaseUrl).Port;
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "http://localhost:{{port}}/v1", api_key: k}
            litellm_settings:
              force_ipv4: true
            general_settings:
              master_key: {{MasterKey}}
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml);

        var (status, body, _) = await ChatAsync(broker.Http, MasterKey);

        Assert.True(status == HttpStatusCode.OK, $"{status} {body}");
        Assert.Single(upstream.Requests);
    }
}
