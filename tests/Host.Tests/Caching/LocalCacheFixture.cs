using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Caching;

/// <summary>One embedded broker with <c>cache: true</c> (type local) in front of a fake OpenAI, shared by a test class.</summary>
public sealed class LocalCacheFixture : IAsyncLifetime
{
    public FakeUpstream Upstream { get; private set; } = null!;

    public BrokerRunner Broker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await FakeUpstream.StartOpenAiAsync();
        Broker = await BrokerRunner.StartEmbeddedAsync(Yaml(Upstream, """
              cache: true
              cache_params:
                type: local
                namespace: broker-tests
                ttl: 600
            """));
    }

    /// <summary>A config with groups gpt-4o (alias gpt-4) and embed on <paramref name="upstream"/>, and the given litellm_settings body.</summary>
    public static string Yaml(FakeUpstream upstream, string litellmSettings) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params:
              model: openai/gpt-4o
              api_base: {{upstream.BaseUrl}}/v1
              api_key: sk-openai-test-key-1234
          - model_name: other
            litellm_params:
              model: openai/gpt-4o
              api_base: {{upstream.BaseUrl}}/v1
              api_key: sk-openai-test-key-1234
          - model_name: embed
            litellm_params:
              model: openai/text-embedding-3-small
              api_base: {{upstream.BaseUrl}}/v1
              api_key: sk-openai-test-key-1234
        router_settings:
          model_group_alias: {"gpt-4": "gpt-4o"}
          timeout: 20
        litellm_settings:
        {{litellmSettings}}
        """;

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
