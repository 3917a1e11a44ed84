using System.Diagnostics;
using System.Net;
using Broker.Host.Tests.EndToEnd;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using StackExchange.Redis;
using static Broker.Host.Tests.Caching.CacheCalls;

namespace Broker.Host.Tests.Caching;

/// <summary>Cache settings that need a broker of their own: default_off, supported_call_types, Redis (reachable or not).</summary>
public sealed class CacheModesTests : IAsyncLifetime
{
    /// <summary>A busy test machine can be slower than the production cache timeout; these tests check hits, not timeouts.</summary>
    private static readonly Dictionary<string, string?> Patient = new() { ["Cache:TimeoutMilliseconds"] = "1000" };

    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartOpenAiAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static string Prompt() => "prompt " + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Chat_DefaultOffMode_CachesOnlyOptedInRequests()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, """
              cache: true
              cache_params: {type: local, mode: default_off}
            """));
        var plain = Prompt();
        var opted = Prompt();

        await ChatAsync(broker, Chat(plain));
        var plainAgain = await ChatAsync(broker, Chat(plain));
        await ChatAsync(broker, Chat(opted, "\"cache\":{\"use-cache\":true}"));
        var optedAgain = await ChatAsync(broker, Chat(opted, "\"cache\":{\"use-cache\":true}"));

        Assert.False(plainAgain.Hit);
        Assert.Null(plainAgain.Key);
        Assert.True(optedAgain.Hit);
        Assert.Equal(3, _upstream.Requests.Count);
    }

    [Fact]
    public async Task SupportedCallTypes_EmbeddingOnly_ChatIsNotCached()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, """
              cache: true
              cache_params: {type: local, supported_call_types: ["aembedding"]}
            """));
        var prompt = Prompt();
        var embedding = $$"""{"model":"embed","input":"{{prompt}}"}""";

        await ChatAsync(broker, Chat(prompt));
        var chat = await ChatAsync(broker, Chat(prompt));
        await PostAsync(broker, "v1/embeddings", embedding);
        var embedded = await PostAsync(broker, "v1/embeddings", embedding);

        Assert.False(chat.Hit);
        Assert.True(embedded.Hit);
        Assert.Equal(3, _upstream.Requests.Count);
    }

    [Fact]
    public async Task SupportedCallTypes_EmptyList_NothingIsCached()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, """
              cache: true
              cache_params: {type: local, supported_call_types: []}
            """));
        var prompt = Prompt();

        await ChatAsync(broker, Chat(prompt));
        var chat = await ChatAsync(broker, Chat(prompt));

        Assert.False(chat.Hit);
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    public async Task Chat_CacheOff_NoCacheHeaders()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, "  set_verbose: false"));
        var prompt = Prompt();

        await ChatAsync(broker, Chat(prompt));
        var second = await ChatAsync(broker, Chat(prompt));

        Assert.Null(second.Key);
        Assert.False(second.Hit);
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_RedisCache_SharedByTwoIngressesAndExpiresWithTtl()
    {
        var (host, port) = RedisHostPort();
        var yaml = LocalCacheFixture.Yaml(_upstream, $$"""
              cache: true
              cache_params: {type: redis, host: "{{host}}", port: {{port}}, namespace: "broker-test-{{Guid.NewGuid():N}}", ttl: 3}
            """);
        await using var first = await BrokerRunner.StartEmbeddedAsync(yaml, settings: Patient);
        await using var second = await BrokerRunner.StartEmbeddedAsync(yaml, settings: Patient);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{host}:{port}");
        var prompt = Prompt();

        var miss = await ChatAsync(first, Chat(prompt));
        await WaitUntilAsync(() => redis.GetDatabase().KeyExists(miss.Key), "the answer never reached Redis");
        var hit = await ChatAsync(second, Chat(prompt, "\"user\":\"another user\""));
        // a 3 s TTL leaves a busy machine time for the hit; then the entry must be gone
        await Task.Delay(3500);
        var expired = await ChatAsync(second, Chat(prompt));

        Assert.False(miss.Hit);
        Assert.True(hit.Hit);
        Assert.Equal(miss.Text, hit.Text);
        Assert.False(expired.Hit);
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_RedisCacheStreamedAnswer_StoredAndServedAsStream()
    {
        var (host, port) = RedisHostPort();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, $$"""
              cache: true
              cache_params: {type: redis, host: "{{host}}", port: {{port}}, namespace: "broker-test-{{Guid.NewGuid():N}}"}
            """), settings: Patient);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{host}:{port}");
        var prompt = Prompt();

        var live = await ChatAsync(broker, Chat(prompt, "\"stream\":true"));
        await WaitUntilAsync(() => redis.GetDatabase().KeyExists(live.Key), "the streamed answer never reached Redis");
        var replay = await ChatAsync(broker, Chat(prompt, "\"stream\":true"));

        Assert.False(live.Hit);
        Assert.True(replay.Hit);
        Assert.Equal(StreamedText(live.Text), StreamedText(replay.Text));
        Assert.Single(_upstream.Requests);
    }

    [Fact]
    public async Task Chat_RedisCacheUnreachable_RequestsSucceedQuickly()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, """
              cache: true
              cache_params: {type: redis, host: 127.0.0.1, port: 1}
            """));
        var prompt = Prompt();

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 20; i++)
        {
            var answer = await ChatAsync(broker, Chat(prompt));
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.False(answer.Hit);
        }

        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"20 requests took {watch.Elapsed}");
        Assert.Equal(20, _upstream.Requests.Count);
    }

    private static (string Host, int Port) RedisHostPort()
    {
        var url = RoutingDistributedTests.RequireRedis();
        var hostPort = url.Contains("://", StringComparison.Ordinal) ? new Uri(url).Authority.Split('@')[^1] : url.Split(',')[0];
        var colon = hostPort.LastIndexOf(':');
        return (hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
