using System.Net;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Caching.CacheCalls;

namespace Broker.Host.Tests.Caching;

/// <summary>
/// <c>type: redis-semantic</c> on the local Redis, with a fake embedding model whose vectors are chosen so the
/// similarity of each prompt to the stored one is known: 0.95 (hit at threshold 0.9), 0.8 and 0 (misses).
/// </summary>
public sealed class SemanticCacheTests
{
    private const string Stored = "What is the capital of France?";
    private const string Close = "Tell me France's capital";
    private const string Near = "Which city governs France?";
    private const string Unrelated = "How do magnets work?";

    private static float[] VectorOf(string text) => text switch
    {
        _ when text.Contains(Stored, StringComparison.Ordinal) => [1f, 0f, 0f],
        _ when text.Contains(Close, StringComparison.Ordinal) => [0.95f, 0.31224989f, 0f],   // cosine 0.95 with Stored
        _ when text.Contains(Near, StringComparison.Ordinal) => [0.8f, 0.6f, 0f],            // cosine 0.80
        _ => [0f, 0f, 1f],                                                                     // cosine 0
    };

    private static string Yaml(FakeUpstream upstream, string nameSpace) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-test-1234}
          - model_name: other
            litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-test-1234}
          - model_name: embedder
            litellm_params: {model: openai/text-embedding-3-small, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-test-1234}
            model_info: {mode: embedding}
        router_settings: {timeout: 20}
        litellm_settings:
          cache: true
          cache_params:
            type: redis-semantic
            namespace: {{nameSpace}}
            similarity_threshold: 0.9
            redis_semantic_cache_embedding_model: embedder
        """;

    private static int ChatCalls(FakeUpstream upstream) => upstream.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_RedisSemantic_HitAboveThresholdMissBelow()
    {
        Assert.False(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("REDIS_URL")), "REDIS_URL is not set: run scripts/services.sh");
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.EmbeddingFor = VectorOf;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, "semantic-" + Guid.NewGuid().ToString("N")),
            settings: new Dictionary<string, string?> { ["Cache:TimeoutMilliseconds"] = "5000" });

        var first = await ChatAsync(broker, Chat(Stored));
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.False(first.Hit);

        // the answer is stored in the background: ask the same question until it comes from the cache
        var again = first;
        for (var i = 0; i < 50 && !again.Hit; i++)
        {
            await Task.Delay(50);
            again = await ChatAsync(broker, Chat(Stored));
        }

        Assert.True(again.Hit);
        var calls = ChatCalls(upstream);

        var close = await ChatAsync(broker, Chat(Close));
        Assert.True(close.Hit, "similarity 0.95 >= 0.9 must be a hit");
        Assert.Equal(first.Content, close.Content);
        Assert.Equal(calls, ChatCalls(upstream));

        // a streamed request is answered from the semantic cache as a stream
        var streamed = await ChatAsync(broker, Chat(Close, "\"stream\":true"));
        Assert.True(streamed.Hit);
        Assert.Equal(first.Content, StreamedText(streamed.Text));
        Assert.Equal(calls, ChatCalls(upstream));

        var near = await ChatAsync(broker, Chat(Near));
        Assert.False(near.Hit, "similarity 0.80 < 0.9 must be a miss");
        Assert.Equal(calls + 1, ChatCalls(upstream));

        var unrelated = await ChatAsync(broker, Chat(Unrelated));
        Assert.False(unrelated.Hit);
        Assert.Equal(calls + 2, ChatCalls(upstream));

        // every lookup embedded its prompt with the configured model
        Assert.Contains(upstream.Requests, r => r.Path.EndsWith("/embeddings", StringComparison.Ordinal) && r.Body["input"]!.ToString() == Close);
    }

    [Fact]
    public async Task Chat_QdrantSemantic_HitAboveThresholdMissBelow()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.EmbeddingFor = VectorOf;
        await using var qdrant = await FakeQdrant.StartAsync();
        var yaml = Yaml(upstream, "semantic-q").Replace("type: redis-semantic", "type: qdrant-semantic", StringComparison.Ordinal)
            .Replace("redis_semantic_cache_embedding_model: embedder", $"qdrant_semantic_cache_embedding_model: embedder\n    qdrant_api_base: {qdrant.BaseUrl}\n    qdrant_api_key: qk-test-5678\n    qdrant_collection_name: answers", StringComparison.Ordinal);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: new Dictionary<string, string?> { ["Cache:TimeoutMilliseconds"] = "5000" });

        var first = await ChatAsync(broker, Chat(Stored));
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.False(first.Hit);
        await WaitUntilAsync(() => qdrant.PointCount("answers") == 1, "the answer is stored as a point");
        var calls = ChatCalls(upstream);

        var close = await ChatAsync(broker, Chat(Close));
        Assert.True(close.Hit, "similarity 0.95 >= 0.9 must be a hit");
        Assert.Equal(first.Content, close.Content);
        Assert.Equal(calls, ChatCalls(upstream));

        var near = await ChatAsync(broker, Chat(Near));
        Assert.False(near.Hit, "similarity 0.80 < 0.9 must be a miss");
        Assert.Equal(calls + 1, ChatCalls(upstream));

        // another model group never sees this group's answers
        Assert.False((await ChatAsync(broker, Chat(Stored, model: "other"))).Hit);
        Assert.All(qdrant.ApiKeys, k => Assert.Equal("qk-test-5678", k));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_RedisSemanticEmbeddingModelFails_RequestsStillAnswered()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broken = await FakeUpstream.StartOpenAiAsync();
        broken.Failure = (500, """{"error":{"message":"embedder down","type":"server_error"}}""", null);
        var yaml = Yaml(upstream, "semantic-down-" + Guid.NewGuid().ToString("N"))
            .Replace($"model: openai/text-embedding-3-small, api_base: \"{upstream.BaseUrl}/v1\"", $"model: openai/text-embedding-3-small, api_base: \"{broken.BaseUrl}/v1\"", StringComparison.Ordinal);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml);

        for (var i = 0; i < 3; i++)
        {
            var answer = await ChatAsync(broker, Chat(Stored));
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.False(answer.Hit);
        }

        Assert.Equal(3, ChatCalls(upstream));
    }
}
