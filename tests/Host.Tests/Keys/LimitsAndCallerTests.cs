using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Identity;
using Broker.Contracts.Inference;
using Broker.Contracts.Usage;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Keys;

/// <summary>tpm_limit and max_parallel_requests of a key, and the Caller carried on commands and cache-hit usage.</summary>
[Trait("Category", "Integration")]
public sealed class LimitsAndCallerTests
{
    [Fact]
    public async Task TpmLimit_TokensOfAnswersUsedUp_NextRequestGets429()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { tpm_limit = 20 });
        while (DateTime.UtcNow.Second > 45)
        {
            await Task.Delay(500);
        }

        var first = await ChatAsync(broker.Http, key);  // 18 tokens
        var second = await ChatAsync(broker.Http, key); // 2 left: allowed, uses 18 more
        var third = await ChatAsync(broker.Http, key);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("20", first.Response.Headers.GetValues("x-ratelimit-remaining-tokens").Single());
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal("2", second.Response.Headers.GetValues("x-ratelimit-remaining-tokens").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Contains("tpm limit: 20", AssertOpenAiError(third.Body, "rate_limit_error")["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task TpmLimit_TokensOfStreamedAnswers_CountLikeNonStreamedOnes()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { tpm_limit = 20 });
        while (DateTime.UtcNow.Second > 45)
        {
            await Task.Delay(500);
        }

        // the client does not ask for usage; the provider's usage (18 tokens) still counts
        async Task<(HttpStatusCode Status, string Text)> StreamAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent("""{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await broker.Http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var first = await StreamAsync();
        var second = await StreamAsync();
        var third = await ChatAsync(broker.Http, key);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.EndsWith("data: [DONE]", first.Text.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("\"usage\"", first.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Contains("current tpm: 36", AssertOpenAiError(third.Body, "rate_limit_error")["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task MaxParallelRequests_OneInFlight_SecondAtOnceGets429ThenFreed()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromSeconds(3);
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { max_parallel_requests = 1 });

        var slow = ChatAsync(broker.Http, key);
        Assert.True(await EventuallyAsync(() => Task.FromResult(upstream.Requests.Count == 1), TimeSpan.FromSeconds(20)));
        var second = await ChatAsync(broker.Http, key);
        Assert.Equal(HttpStatusCode.OK, (await slow).Status);
        upstream.Delay = TimeSpan.Zero;
        var after = await ChatAsync(broker.Http, key);

        Assert.Equal(HttpStatusCode.TooManyRequests, second.Status);
        AssertOpenAiError(second.Body, "rate_limit_error");
        Assert.Equal(HttpStatusCode.OK, after.Status);
    }

    [Fact]
    public async Task Caller_VirtualKey_RidesOnTheCommandAndOnCacheHitUsage()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, extraTop: """
            litellm_settings:
              cache: true
              cache_params: { type: local }
            """));
        var observer = new Observer();
        broker.Hosts[0].Services.GetRequiredService<IBus>().ConnectConsumeObserver(observer);
        await PostAsync(broker.Http, "team/new", MasterKey, new { team_id = "t-caller" });
        var key = await GenerateKeyAsync(broker.Http, new { key_alias = "caller-key", user_id = "u-caller", team_id = "t-caller" });
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        var body = new JsonObject
        {
            ["model"] = "gpt-4o",
            ["user"] = "end-1",
            ["metadata"] = new JsonObject { ["tags"] = new JsonArray("prod", "search") },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "same question" }),
        };

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "v1/chat/completions", key, body.DeepClone())).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "v1/chat/completions", key, body.DeepClone())).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, MasterKey, "o1")).Status);

        var expected = new Caller { KeyHash = hash, KeyAlias = "caller-key", UserId = "u-caller", TeamId = "t-caller", EndUser = "end-1" };
        var command = Assert.Single(observer.Commands, c => c.RequestedModel == "gpt-4o");
        AssertCaller(expected, command.Caller);
        Assert.Null(Assert.Single(observer.Commands, c => c.RequestedModel == "o1").Caller);
        Assert.True(await EventuallyAsync(() => Task.FromResult(observer.Usage.Any(u => u.CacheHit)), TimeSpan.FromSeconds(20)));
        AssertCaller(expected, observer.Usage.First(u => u.CacheHit).Caller);
    }

    private static void AssertCaller(Caller expected, Caller? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.KeyHash, actual.KeyHash);
        Assert.Equal(expected.KeyAlias, actual.KeyAlias);
        Assert.Equal(expected.UserId, actual.UserId);
        Assert.Equal(expected.TeamId, actual.TeamId);
        Assert.Equal(expected.EndUser, actual.EndUser);
        Assert.Equal(["prod", "search"], actual.Tags);
    }

    private sealed class Observer : IConsumeObserver
    {
        public ConcurrentQueue<CreateChatCompletion> Commands { get; } = new();

        public ConcurrentQueue<UsageRecorded> Usage { get; } = new();

        public Task PreConsume<T>(ConsumeContext<T> context)
            where T : class
        {
            switch (context.Message)
            {
                case CreateChatCompletion command:
                    Commands.Enqueue(command);
                    break;
                case UsageRecorded usage:
                    Usage.Enqueue(usage);
                    break;
            }

            return Task.CompletedTask;
        }

        public Task PostConsume<T>(ConsumeContext<T> context)
            where T : class => Task.CompletedTask;

        public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
