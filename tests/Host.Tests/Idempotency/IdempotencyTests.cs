using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using StackExchange.Redis;

namespace Broker.Host.Tests.Idempotency;

/// <summary>
/// Idempotency-Key through the real HTTP path: a repeat (while or after the first ran) gets the first answer, with the
/// same call id and <c>idempotent-replayed: true</c>, and the provider is called once.
/// </summary>
public sealed class IdempotencyTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-idem-master-0001";

    private static string Yaml(FakeUpstream upstream, string extra = "", string router = "", int timeout = 30) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up }
            model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
          - model_name: embed
            litellm_params: { model: openai/text-embedding-3-small, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up }
        router_settings:
          timeout: {{timeout}}
        {{router}}
        general_settings:
          master_key: {{MasterKey}}
        {{extra}}
        """;

    public static TheoryData<string, string> Routes => new()
    {
        { "v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""" },
        { "v1/chat/completions", """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""" },
        { "v1/completions", """{"model":"gpt-4o","prompt":"hi"}""" },
        { "v1/embeddings", """{"model":"embed","input":"hi"}""" },
        { "v1/messages", """{"model":"gpt-4o","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}""" },
        { "v1/messages", """{"model":"gpt-4o","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}""" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Post_SameKeyAfterFirstFinished_ReplaysAnswerWithoutProviderCall(string path, string body)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream));
        var key = Guid.NewGuid().ToString();

        var first = await PostAsync(broker.Http, path, body, key);
        var second = await PostAsync(broker.Http, path, body, key, header: "x-idempotency-key");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Single(upstream.Requests);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(first.Header("x-litellm-call-id"), second.Header("x-litellm-call-id"));
        Assert.NotNull(first.Header("x-litellm-call-id"));
        Assert.Equal(first.Header("Content-Type"), second.Header("Content-Type"));
        Assert.Null(first.Header("idempotent-replayed"));
        Assert.Equal("true", second.Header("idempotent-replayed"));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_SameKeyInParallel_OneProviderCallAndOneSpendRow()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromSeconds(1);
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, $"""
              database_url: "{db.Url}"
              proxy_batch_write_at: 0.2
            """));
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"parallel"}]}""";

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostAsync(broker.Http, "v1/chat/completions", Body, key)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Single(upstream.Requests);
        Assert.Single(answers.Select(a => a.Header("x-litellm-call-id")).Distinct());
        Assert.Single(answers.Select(a => a.Body).Distinct());
        Assert.Equal(7, answers.Count(a => a.Header("idempotent-replayed") == "true"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        // more than a few write batches later, still one row
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"));
    }

    [Fact]
    public async Task ChatStream_SameKeyWhileFirstStreams_WaitsAndReplaysWholeStream()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.ReplyText = "one two three four five six";
        upstream.ChunkDelay = TimeSpan.FromMilliseconds(150);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream));
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

        using var firstRequest = Request("v1/chat/completions", Body, key);
        using var firstResponse = await broker.Http.SendAsync(firstRequest, HttpCompletionOption.ResponseHeadersRead);
        // the first stream has started (its headers are out) and is still running
        var second = PostAsync(broker.Http, "v1/chat/completions", Body, key);
        var firstBody = await firstResponse.Content.ReadAsStringAsync();
        var replay = await second;

        Assert.Equal(HttpStatusCode.OK, replay.Status);
        Assert.Equal(firstBody, replay.Body);
        Assert.Contains("data: [DONE]", replay.Body, StringComparison.Ordinal);
        Assert.Equal("true", replay.Header("idempotent-replayed"));
        Assert.Equal(firstResponse.Headers.GetValues("x-litellm-call-id").Single(), replay.Header("x-litellm-call-id"));
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Chat_SameKeyDifferentBody_422InOpenAiShape()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream));
        var key = Guid.NewGuid().ToString();

        var first = await PostAsync(broker.Http, "v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"a"}]}""", key);
        var other = await PostAsync(broker.Http, "v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"b"}]}""", key);
        var otherRoute = await PostAsync(broker.Http, "v1/embeddings", """{"model":"embed","input":"a"}""", key);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherRoute.Status);
        var error = JsonNode.Parse(other.Body)!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("idempotency_key_reused", error["code"]!.GetValue<string>());
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Messages_SameKeyDifferentBody_422InAnthropicShape()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream));
        var key = Guid.NewGuid().ToString();

        await PostAsync(broker.Http, "v1/messages", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"a"}]}""", key);
        var other = await PostAsync(broker.Http, "v1/messages", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"b"}]}""", key);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.Status);
        var json = JsonNode.Parse(other.Body)!;
        Assert.Equal("error", json["type"]!.GetValue<string>());
        Assert.NotNull(json["error"]!["message"]);
    }

    [Theory]
    [InlineData(500, 2, HttpStatusCode.OK)]
    [InlineData(429, 2, HttpStatusCode.OK)]
    [InlineData(400, 1, HttpStatusCode.BadRequest)]
    public async Task Chat_FirstAttemptFailed_5xxAnd429GiveKeyBack4xxReplayed(int status, int expectedCalls, HttpStatusCode expectedSecond)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (status, """{"error":{"message":"upstream says no","type":"invalid_request_error"}}""", null);
        upstream.OnlyFirstRequests = 1;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, router: "  num_retries: 0"));
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";

        var first = await PostAsync(broker.Http, "v1/chat/completions", Body, key);
        var second = await PostAsync(broker.Http, "v1/chat/completions", Body, key);

        Assert.Equal(status, (int)first.Status);
        Assert.Equal(expectedSecond, second.Status);
        Assert.Equal(expectedCalls, upstream.Requests.Count);
        Assert.Equal(expectedCalls == 1 ? "true" : null, second.Header("idempotent-replayed"));
    }

    [Theory]
    [InlineData("v1/chat/completions", """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("v1/messages", """{"model":"gpt-4o","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}""")]
    public async Task Stream_First504WhileProviderStillRuns_Repeat409WithoutSecondProviderCall(string path, string body)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // the provider is slower than stream_timeout: the Ingress answers 504 while the call still runs (and is billed)
        upstream.Delay = TimeSpan.FromSeconds(4);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, router: "  stream_timeout: 1"),
            settings: new Dictionary<string, string?> { ["Ingress:SseKeepAliveSeconds"] = "0" });
        var key = Guid.NewGuid().ToString();

        var first = await PostAsync(broker.Http, path, body, key);
        var second = await PostAsync(broker.Http, path, body, key);

        Assert.Equal(HttpStatusCode.GatewayTimeout, first.Status);
        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Single(upstream.Requests);
        var callId = first.Header("x-litellm-call-id");
        Assert.NotNull(callId);
        Assert.Equal(callId, second.Header("x-litellm-call-id"));
        var error = JsonNode.Parse(second.Body)!;
        Assert.Contains($"GET /request/{callId}", error["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        if (path == "v1/messages")
        {
            Assert.Equal("error", error["type"]!.GetValue<string>());
            Assert.Equal("invalid_request_error", error["error"]!["type"]!.GetValue<string>());
        }
        else
        {
            Assert.Equal("idempotency_outcome_unknown", error["error"]!["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Chat_AnswerOverReplayLimit_Repeat409WithoutProviderCall()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream), settings: new Dictionary<string, string?> { ["Idempotency:MaxStoredBytes"] = "16" });
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";

        var first = await PostAsync(broker.Http, "v1/chat/completions", Body, key);
        var second = await PostAsync(broker.Http, "v1/chat/completions", Body, key);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Equal("idempotency_answer_not_kept", JsonNode.Parse(second.Body)!["error"]!["code"]!.GetValue<string>());
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Chat_SameKeyFromAnotherCaller_RunsOnItsOwn()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, $"""
              database_url: "{db.Url}"
            """));
        using var generate = new HttpRequestMessage(HttpMethod.Post, "key/generate") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        generate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var generated = await broker.Http.SendAsync(generate);
        var virtualKey = JsonNode.Parse(await generated.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";

        var master = await PostAsync(broker.Http, "v1/chat/completions", Body, key);
        var other = await PostAsync(broker.Http, "v1/chat/completions", Body, key, virtualKey);
        var otherAgain = await PostAsync(broker.Http, "v1/chat/completions", Body, key, virtualKey);

        Assert.Equal(HttpStatusCode.OK, master.Status);
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.NotEqual(master.Header("x-litellm-call-id"), other.Header("x-litellm-call-id"));
        Assert.Equal(other.Header("x-litellm-call-id"), otherAgain.Header("x-litellm-call-id"));
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_SameKeyOnTwoIngressesWithRedis_OneProviderCall()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromSeconds(1);
        var redis = Environment.GetEnvironmentVariable("REDIS_URL");
        Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["REDIS_URL"] = redis });
            using var a = new HttpClient { BaseAddress = new Uri(BrokerApp.Addresses(broker.Hosts[2])[0] + "/"), Timeout = TimeSpan.FromSeconds(60) };
            using var b = new HttpClient { BaseAddress = new Uri(BrokerApp.Addresses(broker.Hosts[3])[0] + "/"), Timeout = TimeSpan.FromSeconds(60) };
            var key = Guid.NewGuid().ToString();
            const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"two ingresses"}]}""";

            var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => PostAsync(i % 2 == 0 ? a : b, "v1/chat/completions", Body, key)));
            var later = await PostAsync(b, "v1/chat/completions", Body, key);

            Assert.All(answers, x => Assert.Equal(HttpStatusCode.OK, x.Status));
            Assert.Single(upstream.Requests);
            Assert.Single(answers.Append(later).Select(x => x.Header("x-litellm-call-id")).Distinct());
            Assert.Equal("true", later.Header("idempotent-replayed"));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_FirstRunsLongerThanLease_RepeatOnOtherIngressGetsItsAnswer()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // the provider takes well over two leases (3 s, renewed every second): only the live Ingress's renewals keep the
        // repeat waiting; a lease short enough to lapse on a machine busy with other tests would prove nothing more
        upstream.Delay = TimeSpan.FromSeconds(8);
        var redis = Environment.GetEnvironmentVariable("REDIS_URL");
        Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["REDIS_URL"] = redis, ["Idempotency:ClaimSeconds"] = "3" });
            using var a = new HttpClient { BaseAddress = new Uri(BrokerApp.Addresses(broker.Hosts[2])[0] + "/"), Timeout = TimeSpan.FromSeconds(60) };
            using var b = new HttpClient { BaseAddress = new Uri(BrokerApp.Addresses(broker.Hosts[3])[0] + "/"), Timeout = TimeSpan.FromSeconds(60) };
            var key = Guid.NewGuid().ToString();
            const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"longer than the lease"}]}""";

            var first = PostAsync(a, "v1/chat/completions", Body, key);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var repeat = await PostAsync(b, "v1/chat/completions", Body, key);
            var firstAnswer = await first;

            Assert.Equal(HttpStatusCode.OK, firstAnswer.Status);
            Assert.True(repeat.Status == HttpStatusCode.OK, $"{repeat.Status} {repeat.Body}");
            Assert.Equal("true", repeat.Header("idempotent-replayed"));
            Assert.Equal(firstAnswer.Header("x-litellm-call-id"), repeat.Header("x-litellm-call-id"));
            Assert.Single(upstream.Requests);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_FirstIngressKilledAtProvider_RepeatOnOtherIngressGetsFirstAnswer()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // the provider holds the first call until the test lets it answer, well after the Ingress that sent it is dead
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.HoldAnswer = (call, aborted) => call == 1 ? release.Task.WaitAsync(aborted) : Task.CompletedTask;
        await using var killed = await KilledIngressSetup.StartAsync(rabbit, upstream, Yaml(upstream));
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"killed ingress"}]}""";

        var first = PostAsync(killed.A, "v1/chat/completions", Body, key);
        await killed.WaitAtProviderAsync(upstream, first);

        // a repeat on ingress B while A lives and renews its lease waits for the first request
        var joined = PostAsync(killed.B, "v1/chat/completions", Body, key);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(joined.IsCompleted, "a repeat while the first request runs on a live Ingress waits for it");

        await killed.IngressA.Kill();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => first);
        // past the lease of the dead Ingress the waiting repeat follows the first call, which is still at the provider
        await Task.Delay(TimeSpan.FromSeconds(KilledIngressSetup.LeaseSeconds + 2));
        Assert.False(joined.IsCompleted, "the repeat waits for the first call's answer while that call may still answer");
        var releasedAt = Stopwatch.StartNew();
        release.SetResult();
        var joinedAnswer = await joined;
        var joinedAfter = releasedAt.Elapsed;
        var repeat = await PostAsync(killed.B, "v1/chat/completions", Body, key);

        // the answer of the one provider call (kept by the worker, its Ingress gone) is what every repeat gets
        foreach (var answer in new[] { joinedAnswer, repeat })
        {
            Assert.True(answer.Status == HttpStatusCode.OK, $"{answer.Status} {answer.Body}");
            Assert.Equal("true", answer.Header("idempotent-replayed"));
            Assert.True(Guid.TryParse(answer.Header("x-litellm-call-id"), out _), $"the answer names the first call: {answer.Header("x-litellm-call-id")}");
            Assert.Equal("chat.completion", JsonNode.Parse(answer.Body)!["object"]!.GetValue<string>());
        }

        Assert.Equal(joinedAnswer.Header("x-litellm-call-id"), repeat.Header("x-litellm-call-id"));
        Assert.Equal(joinedAnswer.Body, repeat.Body);
        Assert.True(joinedAfter < TimeSpan.FromSeconds(5), $"the waiting repeat answered {joinedAfter} after the provider did");
        Assert.Single(upstream.Requests);

        // the worker kept that answer for the key's TTL (24 h); a request without a key has nothing kept
        using var unkeyed = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        unkeyed.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var plain = await killed.B.SendAsync(unkeyed);
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("REDIS_URL")!);
        var db = redis.GetDatabase();
        var kept = await db.KeyTimeToLiveAsync($"{killed.Prefix}:answer:{{{repeat.Header("x-litellm-call-id")}}}");
        Assert.NotNull(kept);
        Assert.InRange(kept.Value, TimeSpan.FromHours(23), TimeSpan.FromHours(24));
        Assert.False(await db.KeyExistsAsync($"{killed.Prefix}:answer:{{{plain.Headers.GetValues("x-litellm-call-id").First()}}}"));
    }

    [Theory]
    [Trait("Category", "Integration")]
    [InlineData("v1/chat/completions", """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"killed mid-stream"}]}""")]
    [InlineData("v1/messages", """{"model":"gpt-4o","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"killed mid-stream"}]}""")]
    public async Task Stream_FirstIngressKilledMidStream_RepeatOnOtherIngressReplaysFirstStream(string path, string body)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.ReplyText = "one two three four five six seven eight";
        upstream.ChunkDelay = TimeSpan.FromMilliseconds(300);
        await using var killed = await KilledIngressSetup.StartAsync(rabbit, upstream, Yaml(upstream));
        var key = Guid.NewGuid().ToString();

        // the first stream, through ingress A, has sent its first words when A is killed
        using var firstRequest = Request(path, body, key);
        using var firstResponse = await killed.A.SendAsync(firstRequest, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        var firstCallId = firstResponse.Headers.GetValues("x-litellm-call-id").Single();
        var reader = new StreamReader(await firstResponse.Content.ReadAsStreamAsync());
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("one ", StringComparison.Ordinal))
        {
            seen.AppendLine(await reader.ReadLineAsync() ?? throw new InvalidOperationException("the first stream ended early: " + seen));
        }

        await killed.IngressA.Kill();
        Assert.False(seen.ToString().Contains("eight", StringComparison.Ordinal), "the first stream was killed mid-stream");

        // past the dead Ingress's lease, the repeat on B replays the stream its worker kept: the same call, every word
        await Task.Delay(TimeSpan.FromSeconds(KilledIngressSetup.LeaseSeconds + 1));
        var repeat = await PostAsync(killed.B, path, body, key);
        var again = await PostAsync(killed.B, path, body, key);

        foreach (var answer in new[] { repeat, again })
        {
            Assert.True(answer.Status == HttpStatusCode.OK, $"{answer.Status} {answer.Body}");
            Assert.StartsWith("text/event-stream", answer.Header("Content-Type"), StringComparison.Ordinal);
            Assert.Equal("true", answer.Header("idempotent-replayed"));
            Assert.Equal(firstCallId, answer.Header("x-litellm-call-id"));
            Assert.Equal(upstream.ReplyText, StreamedText(answer.Body));
            if (path == "v1/messages")
            {
                Assert.Contains("event: message_stop", answer.Body, StringComparison.Ordinal);
                Assert.DoesNotContain("[DONE]", answer.Body, StringComparison.Ordinal);
            }
            else
            {
                Assert.EndsWith("data: [DONE]\n\n", answer.Body, StringComparison.Ordinal);
            }
        }

        Assert.Equal(repeat.Body, again.Body);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task ChatStream_FirstIngressKilledThenProviderBreaksStream_RepeatGetsSameFailedStream()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.ReplyText = "one two three four five six seven eight";
        upstream.ChunkDelay = TimeSpan.FromMilliseconds(300);
        // the provider drops its connection after four words, once the Ingress that sent the request is dead
        upstream.BreakStreamAfterChunks = 4;
        await using var killed = await KilledIngressSetup.StartAsync(rabbit, upstream, Yaml(upstream));
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"killed, then broken"}]}""";

        using var firstRequest = Request("v1/chat/completions", Body, key);
        using var firstResponse = await killed.A.SendAsync(firstRequest, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        var firstCallId = firstResponse.Headers.GetValues("x-litellm-call-id").Single();
        var reader = new StreamReader(await firstResponse.Content.ReadAsStreamAsync());
        string? line;
        do
        {
            line = await reader.ReadLineAsync();
            Assert.True(line is not null, "the first stream ended before its first word");
        }
        while (!line.Contains("one ", StringComparison.Ordinal));

        await killed.IngressA.Kill();
        await Task.Delay(TimeSpan.FromSeconds(KilledIngressSetup.LeaseSeconds + 1));
        var repeat = await PostAsync(killed.B, "v1/chat/completions", Body, key);

        // what the first client would have got: the four words, then the provider's error as an event, then the end
        Assert.True(repeat.Status == HttpStatusCode.OK, $"{repeat.Status} {repeat.Body}");
        Assert.Equal("true", repeat.Header("idempotent-replayed"));
        Assert.Equal(firstCallId, repeat.Header("x-litellm-call-id"));
        Assert.Equal("one two three four ", StreamedText(repeat.Body));
        Assert.Contains("data: {\"error\":", repeat.Body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", repeat.Body, StringComparison.Ordinal);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task ChatStream_FirstIngressKilledAtProvider_RepeatWaitsAndReplaysStream()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // the provider holds the first call until the test lets it stream, well after the Ingress that sent it is dead
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.HoldAnswer = (call, aborted) => call == 1 ? release.Task.WaitAsync(aborted) : Task.CompletedTask;
        await using var killed = await KilledIngressSetup.StartAsync(rabbit, upstream, Yaml(upstream));
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"killed before the stream"}]}""";

        var first = PostAsync(killed.A, "v1/chat/completions", Body, key);
        await killed.WaitAtProviderAsync(upstream, first);
        await killed.IngressA.Kill();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => first);
        await Task.Delay(TimeSpan.FromSeconds(KilledIngressSetup.LeaseSeconds + 1));

        // the repeat follows the first call, which has not answered yet: it waits for its stream, then replays it
        var repeat = PostAsync(killed.B, "v1/chat/completions", Body, key);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(repeat.IsCompleted, "the repeat waits for the first call's stream while that call may still answer");
        release.SetResult();
        var answer = await repeat;

        Assert.True(answer.Status == HttpStatusCode.OK, $"{answer.Status} {answer.Body}");
        Assert.Equal("true", answer.Header("idempotent-replayed"));
        Assert.True(Guid.TryParse(answer.Header("x-litellm-call-id"), out _), $"the answer names the first call: {answer.Header("x-litellm-call-id")}");
        Assert.Equal(upstream.ReplyText, StreamedText(answer.Body));
        Assert.EndsWith("data: [DONE]\n\n", answer.Body, StringComparison.Ordinal);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_FirstIngressKilledProviderNeverAnswers_Repeat409AfterCallDeadline()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // the provider never answers the first call: the worker gives it up at its deadline (8 s), and nothing is kept
        upstream.HoldAnswer = (call, aborted) => call == 1 ? Task.Delay(Timeout.Infinite, aborted) : Task.CompletedTask;
        const int TimeoutSeconds = 8;
        await using var killed = await KilledIngressSetup.StartAsync(rabbit, upstream, Yaml(upstream, timeout: TimeoutSeconds));
        var key = Guid.NewGuid().ToString();
        const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"killed ingress, no answer"}]}""";

        var sent = Stopwatch.StartNew();
        var first = PostAsync(killed.A, "v1/chat/completions", Body, key);
        await killed.WaitAtProviderAsync(upstream, first);
        await killed.IngressA.Kill();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => first);
        await Task.Delay(TimeSpan.FromSeconds(KilledIngressSetup.LeaseSeconds + 1));
        var repeat = await PostAsync(killed.B, "v1/chat/completions", Body, key);
        var repeatAfter = sent.Elapsed;
        var again = await PostAsync(killed.B, "v1/chat/completions", Body, key);

        // the repeat waited while the first call could still answer (its deadline), then was refused; so is the next
        Assert.True(repeatAfter > TimeSpan.FromSeconds(TimeoutSeconds), $"the repeat was refused {repeatAfter} after the first was sent");
        foreach (var answer in new[] { repeat, again })
        {
            Assert.True(answer.Status == HttpStatusCode.Conflict, $"{answer.Status} {answer.Body}");
            var error = JsonNode.Parse(answer.Body)!["error"]!;
            Assert.Equal("idempotency_outcome_unknown", error["code"]!.GetValue<string>());
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
            var callId = answer.Header("x-litellm-call-id");
            Assert.True(Guid.TryParse(callId, out _), $"the 409 names the first call: {callId}");
            Assert.Contains($"GET /request/{callId}", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal(repeat.Header("x-litellm-call-id"), again.Header("x-litellm-call-id"));
        Assert.Single(upstream.Requests);
    }

    /// <summary>
    /// Workers, Billing and ingress B in this process; ingress A a <c>broker --role ingress</c> process of its own, which
    /// a test kills with SIGKILL. Both Ingresses share one Redis key prefix and a 3 s lease.
    /// </summary>
    private sealed class KilledIngressSetup : IAsyncDisposable
    {
        public const int LeaseSeconds = 3;

        private readonly RabbitMqFixture _rabbit;
        private readonly string _vhost;
        private readonly string _store;
        private readonly BrokerRunner _broker;

        private KilledIngressSetup(
            RabbitMqFixture rabbit, string vhost, string store, BrokerRunner broker, BrokerProcess ingressA, HttpClient a, string prefix)
        {
            Prefix = prefix;
            _rabbit = rabbit;
            _vhost = vhost;
            _store = store;
            _broker = broker;
            IngressA = ingressA;
            A = a;
        }

        public BrokerProcess IngressA { get; }

        /// <summary>The Redis key prefix both Ingresses and the workers use.</summary>
        public string Prefix { get; }

        public HttpClient A { get; }

        public HttpClient B => _broker.Http;

        public static async Task<KilledIngressSetup> StartAsync(RabbitMqFixture rabbit, FakeUpstream upstream, string yaml)
        {
            var redis = Environment.GetEnvironmentVariable("REDIS_URL");
            Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
            var prefix = $"broker-test-{Guid.NewGuid():N}";
            var (url, vhost) = await rabbit.CreateVirtualHostAsync();
            var store = Path.Combine(Path.GetTempPath(), $"broker-idem-kill-{Guid.NewGuid():N}.db");
            BrokerRunner? broker = null;
            try
            {
                broker = await BrokerRunner.StartAsync(yaml, null, url,
                    [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])],
                    new Dictionary<string, string?>
                    {
                        ["REDIS_URL"] = redis, ["Redis:KeyPrefix"] = prefix, ["Idempotency:ClaimSeconds"] = LeaseSeconds.ToString(CultureInfo.InvariantCulture),
                    });
                broker.Http.Timeout = TimeSpan.FromSeconds(90);
                var port = FreePort();
                var ingressA = BrokerProcess.Start(broker.ConfigPath, url,
                    ["--role", "ingress", "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture)],
                    new Dictionary<string, string>
                    {
                        ["REDIS_URL"] = redis!, ["Redis__KeyPrefix"] = prefix, ["Redis__CommandTimeoutMs"] = "2000",
                        ["Idempotency__ClaimSeconds"] = LeaseSeconds.ToString(CultureInfo.InvariantCulture), ["Database__EmbeddedPath"] = store,
                    });
                var a = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
                await WaitReadyAsync(a, ingressA);
                return new KilledIngressSetup(rabbit, vhost, store, broker, ingressA, a, prefix);
            }
            catch
            {
                if (broker is not null)
                {
                    await broker.DisposeAsync();
                }

                await rabbit.DeleteVirtualHostAsync(vhost);
                throw;
            }
        }

        /// <summary>Waits until the first request (sent through A) has reached the provider.</summary>
        public async Task WaitAtProviderAsync(FakeUpstream upstream, Task first)
        {
            var waited = Stopwatch.StartNew();
            while (upstream.Requests.Count == 0)
            {
                Assert.False(first.IsCompleted, "the first request ended before it reached the provider\n" + IngressA.Log);
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the first request did not reach the provider\n" + IngressA.Log);
                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            A.Dispose();
            await IngressA.DisposeAsync();
            await _broker.DisposeAsync();
            await _rabbit.DeleteVirtualHostAsync(_vhost);
            File.Delete(_store);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until a <c>broker</c> process answers <c>/health/readiness</c> with 200.</summary>
    private static async Task WaitReadyAsync(HttpClient http, BrokerProcess process)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var ready = await http.GetAsync("health/readiness");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            Assert.False(process.HasExited, "broker exited early:\n" + process.Log);
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "broker not ready within 60 s:\n" + process.Log);
            await Task.Delay(200);
        }
    }

    private static HttpRequestMessage Request(string path, string body, string idempotencyKey, string apiKey = MasterKey, string header = "Idempotency-Key")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        request.Headers.Add(header, idempotencyKey);
        return request;
    }

    private static async Task<Answer> PostAsync(
        HttpClient http, string path, string body, string idempotencyKey, string apiKey = MasterKey, string header = "Idempotency-Key")
    {
        using var request = Request(path, body, idempotencyKey, apiKey, header);
        using var response = await http.SendAsync(request);
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        return new Answer(response.StatusCode, headers, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The text an SSE answer streams: OpenAI chunks' <c>delta.content</c>, or Anthropic <c>text_delta</c>s.</summary>
    private static string StreamedText(string sse)
    {
        var text = new StringBuilder();
        foreach (var line in sse.Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal) || JsonNode.Parse(line["data: ".Length..]) is not JsonObject data)
            {
                continue;
            }

            var piece = data["choices"] is JsonArray { Count: > 0 } choices ? choices[0]?["delta"]?["content"] : data["delta"]?["text"];
            if (piece is JsonValue value && value.TryGetValue<string>(out var s))
            {
                text.Append(s);
            }
        }

        return text.ToString();
    }

    private sealed record Answer(HttpStatusCode Status, Dictionary<string, string> Headers, string Body)
    {
        public string? Header(string name) => Headers.GetValueOrDefault(name);
    }
}
