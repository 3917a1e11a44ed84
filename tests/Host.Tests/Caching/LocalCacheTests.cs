using System.Net;
using Broker.Billing.Usage;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Host.Tests.Caching.CacheCalls;

namespace Broker.Host.Tests.Caching;

/// <summary>The response cache in an embedded broker (type local): hits, misses, controls, streams.</summary>
public sealed class LocalCacheTests(LocalCacheFixture fixture) : IClassFixture<LocalCacheFixture>
{
    private int UpstreamCalls(string prompt) =>
        fixture.Upstream.Requests.Count(r => r.Body["messages"]?[0]?["content"]?.GetValue<string>() == prompt ||
                                             r.Body["input"]?.ToJsonString().Contains(prompt, StringComparison.Ordinal) == true);

    private static string Prompt() => "prompt " + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Chat_SameRequestTwice_SecondIsHitWithoutUpstream()
    {
        var prompt = Prompt();

        var first = await ChatAsync(fixture.Broker, Chat(prompt));
        var second = await ChatAsync(fixture.Broker, Chat(prompt));

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.False(first.Hit);
        Assert.True(second.Hit);
        Assert.NotNull(first.Key);
        Assert.StartsWith("broker-tests:", second.Key, StringComparison.Ordinal);
        Assert.Equal(first.Key, second.Key);
        Assert.Equal(first.Text, second.Text);
        Assert.Equal("Hello from the fake provider", second.Content);
        Assert.Equal(1, UpstreamCalls(prompt));
    }

    [Theory]
    [InlineData("\"temperature\":0.7", false)]
    [InlineData("\"temperature\":0.50", true)]
    [InlineData("\"top_p\":0.9", false)]
    [InlineData("\"max_tokens\":10", false)]
    [InlineData("\"stop\":[\"x\"]", false)]
    [InlineData("\"seed\":42", false)]
    [InlineData("\"n\":2", false)]
    [InlineData("\"reasoning_effort\":\"low\"", false)]
    [InlineData("\"response_format\":{\"type\":\"json_object\"}", false)]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}]", false)]
    [InlineData("\"tool_choice\":\"none\"", false)]
    [InlineData("\"user\":\"someone-else\"", true)]
    [InlineData("\"metadata\":{\"trace\":\"abc\"}", true)]
    [InlineData("\"stream_options\":{\"include_usage\":true}", true)]
    [InlineData("\"cache\":{\"ttl\":100}", true)]
    public async Task Chat_KeyComponent_HitsOnlyWhenTheAnswerCannotChange(string change, bool expectHit)
    {
        var prompt = Prompt();
        var first = await ChatAsync(fixture.Broker, Chat(prompt, "\"temperature\":0.5"));

        var second = await ChatAsync(fixture.Broker, Chat(prompt, change.StartsWith("\"temperature\"", StringComparison.Ordinal) ? change : "\"temperature\":0.5," + change));

        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(expectHit, second.Hit);
        Assert.Equal(expectHit, first.Key == second.Key);
        Assert.Equal(expectHit ? 1 : 2, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_OtherMessageOrGroup_Misses_AliasHits()
    {
        var prompt = Prompt();
        await ChatAsync(fixture.Broker, Chat(prompt));

        var otherGroup = await ChatAsync(fixture.Broker, Chat(prompt, model: "other"));
        var otherMessage = await ChatAsync(fixture.Broker, Chat(prompt + "!"));
        var alias = await ChatAsync(fixture.Broker, Chat(prompt, model: "gpt-4"));

        Assert.False(otherGroup.Hit);
        Assert.False(otherMessage.Hit);
        Assert.True(alias.Hit);
    }

    [Fact]
    public async Task Chat_CacheFieldInBody_IsNotSentToProvider()
    {
        var prompt = Prompt();

        await ChatAsync(fixture.Broker, Chat(prompt, "\"cache\":{\"ttl\":60}"));

        var upstream = Assert.Single(fixture.Upstream.Requests, r => r.Body["messages"]?[0]?["content"]?.GetValue<string>() == prompt);
        Assert.False(upstream.Body.ContainsKey("cache"));
    }

    [Fact]
    public async Task Chat_NoCacheControl_SkipsLookupButStoresFreshAnswer()
    {
        var prompt = Prompt();
        await ChatAsync(fixture.Broker, Chat(prompt));
        fixture.Upstream.ReplyText = "Hello from the fake provider";

        var bypass = await ChatAsync(fixture.Broker, Chat(prompt, "\"cache\":{\"no-cache\":true}"));
        var after = await ChatAsync(fixture.Broker, Chat(prompt));

        Assert.False(bypass.Hit);
        Assert.True(after.Hit);
        Assert.Equal(2, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_NoStoreControl_AnswerIsNotKept()
    {
        var prompt = Prompt();

        var first = await ChatAsync(fixture.Broker, Chat(prompt, "\"cache\":{\"no-store\":true}"));
        var second = await ChatAsync(fixture.Broker, Chat(prompt));

        Assert.False(first.Hit);
        Assert.False(second.Hit);
        Assert.Equal(2, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_TtlControl_EntryExpires()
    {
        var prompt = Prompt();

        await ChatAsync(fixture.Broker, Chat(prompt, "\"cache\":{\"ttl\":0.3}"));
        var soon = await ChatAsync(fixture.Broker, Chat(prompt));
        await Task.Delay(500);
        var later = await ChatAsync(fixture.Broker, Chat(prompt));

        Assert.True(soon.Hit);
        Assert.False(later.Hit);
        Assert.Equal(2, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_SMaxAgeControl_OnlyYoungEnoughEntriesServe()
    {
        var prompt = Prompt();
        await ChatAsync(fixture.Broker, Chat(prompt));
        await Task.Delay(400);

        var tooOld = await ChatAsync(fixture.Broker, Chat(prompt, "\"cache\":{\"s-maxage\":0.2}"));
        var youngEnough = await ChatAsync(fixture.Broker, Chat(prompt, "\"cache\":{\"s-maxage\":60}"));

        Assert.False(tooOld.Hit);
        Assert.True(youngEnough.Hit);
    }

    [Theory]
    [InlineData("no-cache", false, 2)]
    [InlineData("max-age=0", false, 2)]
    [InlineData("s-maxage=600", true, 1)]
    public async Task Chat_CacheControlHeader_Lookup(string header, bool expectHit, int expectUpstream)
    {
        var prompt = Prompt();
        await ChatAsync(fixture.Broker, Chat(prompt));
        await Task.Delay(20);

        var second = await ChatAsync(fixture.Broker, Chat(prompt), header);

        Assert.Equal(expectHit, second.Hit);
        Assert.Equal(expectUpstream, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_CacheControlNoStoreHeader_AnswerIsNotKept()
    {
        var prompt = Prompt();

        await ChatAsync(fixture.Broker, Chat(prompt), "no-store");
        var second = await ChatAsync(fixture.Broker, Chat(prompt));

        Assert.False(second.Hit);
        Assert.Equal(2, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_StreamAfterCompletion_ServedFromCacheAsStream()
    {
        var prompt = Prompt();
        var stored = await ChatAsync(fixture.Broker, Chat(prompt));

        var streamed = await ChatAsync(fixture.Broker, Chat(prompt, "\"stream\":true,\"stream_options\":{\"include_usage\":true}"));

        Assert.True(streamed.Hit);
        Assert.Equal(stored.Key, streamed.Key);
        Assert.Equal("Hello from the fake provider", StreamedText(streamed.Text));
        Assert.Contains("\"usage\":{\"prompt_tokens\":13", streamed.Text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", streamed.Text, StringComparison.Ordinal);
        Assert.Equal(1, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_StreamedAnswer_StoredWhenComplete()
    {
        var prompt = Prompt();

        var streamed = await ChatAsync(fixture.Broker, Chat(prompt, "\"stream\":true"));
        var again = await ChatAsync(fixture.Broker, Chat(prompt));
        var againStreamed = await ChatAsync(fixture.Broker, Chat(prompt, "\"stream\":true"));

        Assert.False(streamed.Hit);
        Assert.Equal("Hello from the fake provider", StreamedText(streamed.Text));
        Assert.True(again.Hit);
        Assert.Equal("Hello from the fake provider", again.Content);
        Assert.Equal(13, again.Json["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal("stop", again.Json["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.True(againStreamed.Hit);
        Assert.Equal("Hello from the fake provider", StreamedText(againStreamed.Text));
        Assert.Equal(1, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Embeddings_SameInputTwice_SecondIsHit()
    {
        var prompt = Prompt();
        var json = $$"""{"model":"embed","input":["{{prompt}}"],"encoding_format":"float"}""";

        var first = await PostAsync(fixture.Broker, "v1/embeddings", json);
        var second = await PostAsync(fixture.Broker, "v1/embeddings", json);
        var otherFormat = await PostAsync(fixture.Broker, "v1/embeddings", json.Replace("float", "base64", StringComparison.Ordinal));

        Assert.False(first.Hit);
        Assert.True(second.Hit);
        Assert.Equal(first.Text, second.Text);
        Assert.False(otherFormat.Hit);
        Assert.Equal(2, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Responses_SameRequestTwice_SecondIsHit()
    {
        var prompt = Prompt();
        var json = $$"""{"model":"gpt-4o","input":"{{prompt}}"}""";

        var first = await PostAsync(fixture.Broker, "v1/responses", json);
        var second = await PostAsync(fixture.Broker, "v1/responses", json);
        var streamed = await PostAsync(fixture.Broker, "v1/responses", json.Replace("}", ",\"stream\":true}", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.True(second.Hit);
        Assert.Equal(first.Json["output"]![0]!["content"]!.ToJsonString(), second.Json["output"]![0]!["content"]!.ToJsonString());
        Assert.True(streamed.Hit);
        Assert.Contains("response.completed", streamed.Text, StringComparison.Ordinal);
        Assert.Equal(1, UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Chat_Hit_BillingReceivesUsageMarkedAsCacheHit()
    {
        var ledger = fixture.Broker.Hosts.Select(h => h.Services.GetService<UsageLedger>()).Single(l => l is not null)!;
        var prompt = Prompt();
        await ChatAsync(fixture.Broker, Chat(prompt, model: "other"));
        await WaitUntilAsync(() => ledger.Snapshot().TryGetValue("other", out _), "billing never saw the miss");
        var before = ledger.Snapshot()["other"].Requests;

        var hit = await ChatAsync(fixture.Broker, Chat(prompt, model: "other"));

        Assert.True(hit.Hit);
        await WaitUntilAsync(() => ledger.Snapshot()["other"].Requests >= before + 1, "billing never saw the cache hit");
        await WaitUntilAsync(() => ledger.CacheHits().GetValueOrDefault("other") >= 1, "the usage event was not marked as a cache hit");
    }
}
