using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Billing.Usage;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// The same end-to-end cases for every deployment shape: the official OpenAI SDK against a running Broker,
/// with real fake providers (OpenAI-compatible and Anthropic) on 127.0.0.1.
/// </summary>
public abstract class ChatCompletionsTestsBase : IAsyncLifetime
{
    protected const string MasterKey = "sk-test-master-key-0001";

    private BrokerRunner? _broker;

    protected FakeUpstream OpenAi { get; private set; } = null!;

    protected FakeUpstream Anthropic { get; private set; } = null!;

    protected FakeUpstream Slow { get; private set; } = null!;

    protected BrokerRunner Broker => _broker ?? throw new InvalidOperationException("not started");

    protected abstract Task<BrokerRunner> StartBrokerAsync(string yaml, IReadOnlyDictionary<string, string> env);

    public async Task InitializeAsync()
    {
        OpenAi = await FakeUpstream.StartOpenAiAsync();
        Anthropic = await FakeUpstream.StartAnthropicAsync();
        Slow = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params:
                  model: openai/gpt-4o
                  api_base: {{OpenAi.BaseUrl}}/v1
                  api_key: os.environ/TEST_OPENAI_KEY
                  temperature: 0.2
              - model_name: claude
                litellm_params:
                  model: anthropic/claude-3-5-sonnet-20240620
                  api_base: {{Anthropic.BaseUrl}}
                  api_key: sk-ant-test-key-9876
              - model_name: slow
                litellm_params:
                  model: openai/slow-model
                  api_base: {{Slow.BaseUrl}}/v1
                  api_key: sk-slow-key-5555
                  max_parallel_requests: 1
                  timeout: 2
              - model_name: mocked
                litellm_params:
                  model: openai/gpt-4o-mini
                  mock_response: "canned answer"
              - model_name: embed
                litellm_params:
                  model: openai/text-embedding-3-small
                  api_base: {{OpenAi.BaseUrl}}/v1
                  api_key: os.environ/TEST_OPENAI_KEY
            router_settings:
              model_group_alias: {"gpt-4": "gpt-4o"}
              timeout: 20
            general_settings:
              master_key: {{MasterKey}}
              max_request_size_mb: 0.05
            """;
        _broker = await StartBrokerAsync(yaml, new Dictionary<string, string> { ["TEST_OPENAI_KEY"] = "sk-openai-test-key-1234" });
    }

    public virtual async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        await OpenAi.DisposeAsync();
        await Anthropic.DisposeAsync();
        await Slow.DisposeAsync();
    }

    protected OpenAIClient Sdk(string key = MasterKey) =>
        new(new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(Broker.BaseUrl + "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        });

    protected async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> PostRawAsync(string path, string body, string? key = MasterKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        var response = await Broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject(), response);
    }

    protected static void AssertOpenAiError(JsonObject body, string expectedType, string? expectedCode = null)
    {
        var error = Assert.IsType<JsonObject>(body["error"]);
        Assert.False(string.IsNullOrWhiteSpace(error["message"]?.GetValue<string>()));
        Assert.Equal(expectedType, error["type"]?.GetValue<string>());
        Assert.True(error.ContainsKey("param"));
        Assert.True(error.ContainsKey("code"));
        if (expectedCode is not null)
        {
            Assert.Equal(expectedCode, error["code"]?.GetValue<string>());
        }

        Assert.DoesNotContain("   at ", body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListModels_OfficialSdk_ReturnsGroupsAndAliases()
    {
        var models = await Sdk().GetOpenAIModelClient().GetModelsAsync();

        var ids = models.Value.Select(m => m.Id).ToList();
        Assert.Equal(["gpt-4o", "claude", "slow", "mocked", "embed", "gpt-4"], ids);
    }

    [Fact]
    public async Task CompleteChat_OpenAiUpstream_ReturnsAnswerThroughGroupQueue()
    {
        var result = await Sdk().GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from the fake provider", result.Value.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, result.Value.FinishReason);
        Assert.Equal(13, result.Value.Usage.InputTokenCount);
        Assert.Equal(5, result.Value.Usage.OutputTokenCount);
        var raw = result.GetRawResponse();
        Assert.True(raw.Headers.TryGetValue("x-broker-queue", out var queue));
        Assert.Equal("model-group.gpt-4o", queue);

        var upstream = Assert.Single(OpenAi.Requests);
        Assert.Equal("/v1/chat/completions", upstream.Path);
        Assert.Equal("Bearer sk-openai-test-key-1234", upstream.Headers["authorization"]);
        Assert.DoesNotContain(MasterKey, upstream.Headers.Values);
        Assert.Equal("gpt-4o", upstream.Body["model"]!.GetValue<string>());
        Assert.Equal(0.2, upstream.Body["temperature"]!.GetValue<double>());
        Assert.Equal("Say hello", upstream.Body["messages"]![0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompleteChat_Completed_BillingReceivesUsageRecorded()
    {
        await Sdk().GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("count me")]);

        var ledger = Broker.Hosts.Select(h => h.Services.GetService<UsageLedger>()).Single(l => l is not null)!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!ledger.Snapshot().ContainsKey("gpt-4o") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(ledger.Snapshot().TryGetValue("gpt-4o", out var totals), "billing never received the usage event");
        Assert.Equal(new GroupTotals(1, 13, 5), totals);
    }

    [Fact]
    public async Task CompleteChat_XApiKeyHeader_IsAccepted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"mocked","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", MasterKey);

        var response = await Broker.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task CompleteChat_Alias_RoutesToTargetGroup()
    {
        var result = await Sdk().GetChatClient("gpt-4").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("Hello from the fake provider", result.Value.Content[0].Text);
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-broker-queue", out var queue));
        Assert.Equal("model-group.gpt-4o", queue);
        Assert.Equal("gpt-4o", Assert.Single(OpenAi.Requests).Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompleteChat_AnthropicUpstream_TranslatesRequestAndAnswer()
    {
        var result = await Sdk().GetChatClient("claude").CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Say hello")],
            new ChatCompletionOptions { Temperature = 0.5f, StopSequences = { "END" } });

        Assert.Equal("Hello from the fake provider", result.Value.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, result.Value.FinishReason);
        Assert.Equal(11, result.Value.Usage.InputTokenCount);
        Assert.Equal(7, result.Value.Usage.OutputTokenCount);

        var upstream = Assert.Single(Anthropic.Requests);
        Assert.Equal("/v1/messages", upstream.Path);
        Assert.Equal("sk-ant-test-key-9876", upstream.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", upstream.Headers["anthropic-version"]);
        Assert.Equal("claude-3-5-sonnet-20240620", upstream.Body["model"]!.GetValue<string>());
        Assert.Equal("You are terse.", upstream.Body["system"]!.GetValue<string>());
        Assert.Equal(4096, upstream.Body["max_tokens"]!.GetValue<int>());
        Assert.Equal("END", upstream.Body["stop_sequences"]![0]!.GetValue<string>());
        var message = Assert.Single(upstream.Body["messages"]!.AsArray())!;
        Assert.Equal("user", message["role"]!.GetValue<string>());
        Assert.Equal("Say hello", message["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompleteChat_MockResponse_AnswersWithoutProvider()
    {
        var result = await Sdk().GetChatClient("mocked").CompleteChatAsync([new UserChatMessage("anything")]);

        Assert.Equal("canned answer", result.Value.Content[0].Text);
        Assert.Empty(OpenAi.Requests);
    }

    [Fact]
    public async Task CompleteChat_WrongKey_Returns401InOpenAiShape()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk("sk-wrong-key-0000").GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, ex.Status);

        var (status, body, _) = await PostRawAsync("v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", key: null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertOpenAiError(body, "invalid_request_error", "invalid_api_key");
        Assert.Empty(OpenAi.Requests);
    }

    [Fact]
    public async Task CompleteChat_UnknownModel_Returns404ModelNotFound()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk().GetChatClient("no-such-model").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, ex.Status);

        var (status, body, _) = await PostRawAsync("chat/completions", """{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        AssertOpenAiError(body, "invalid_request_error", "model_not_found");
    }

    [Fact]
    public async Task CompleteChat_BadBodies_ReturnOpenAiErrorsAndKeepServing()
    {
        var malformed = await PostRawAsync("v1/chat/completions", """{"model": "gpt-4o", "messages": [""");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
        AssertOpenAiError(malformed.Body, "invalid_request_error", "invalid_json");

        var missing = await PostRawAsync("v1/chat/completions", """{"model": "gpt-4o"}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        AssertOpenAiError(missing.Body, "invalid_request_error", "missing_required_parameter");
        Assert.Equal("messages", missing.Body["error"]!["param"]!.GetValue<string>());

        var wrongType = await PostRawAsync("v1/chat/completions", """{"model": "gpt-4o", "messages": "hi"}""");
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.Status);
        AssertOpenAiError(wrongType.Body, "invalid_request_error", "invalid_type");

        var badRole = await PostRawAsync("v1/chat/completions", """{"model": "gpt-4o", "messages": [{"role": "wizard", "content": "hi"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, badRole.Status);
        Assert.Equal("messages[0].role", badRole.Body["error"]!["param"]!.GetValue<string>());

        var big = new string('x', 80 * 1024);
        var tooLarge = await PostRawAsync("v1/chat/completions", $$"""{"model": "gpt-4o", "messages": [{"role": "user", "content": "{{big}}"}]}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.Status);
        AssertOpenAiError(tooLarge.Body, "invalid_request_error", "request_too_large");

        Assert.Empty(OpenAi.Requests);
        var ok = await Sdk().GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("still there?")]);
        Assert.Equal("Hello from the fake provider", ok.Value.Content[0].Text);
    }

    [Fact]
    public async Task CompleteChat_UpstreamRateLimited_Returns429WithRetryAfter()
    {
        OpenAi.Failure = (429, """{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}}""",
            new Dictionary<string, string> { ["retry-after"] = "1" });

        var (status, body, response) = await PostRawAsync("v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        AssertOpenAiError(body, "rate_limit_error", "rate_limit_exceeded");
        Assert.Contains("Rate limit reached for gpt-4o", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
    }

    [Fact]
    public async Task CompleteChat_UpstreamServerError_Returns5xxWithProviderMessage()
    {
        OpenAi.Failure = (503, """{"error":{"message":"The engine is currently overloaded","type":"server_error"}}""", null);

        var (status, body, _) = await PostRawAsync("v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        AssertOpenAiError(body, "api_error");
        Assert.Contains("The engine is currently overloaded", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteChat_UpstreamSlowerThanTimeout_ReturnsTimeoutError()
    {
        Slow.Delay = TimeSpan.FromSeconds(4);

        var (status, body, _) = await PostRawAsync("v1/chat/completions", """{"model":"slow","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.RequestTimeout, status);
        AssertOpenAiError(body, "timeout", "timeout");
    }

    [Fact]
    public async Task CompleteChat_SlowGroupAtItsLimit_DoesNotHoldBackOtherGroup()
    {
        Slow.Delay = TimeSpan.FromMilliseconds(400);
        var chat = Sdk();
        var slow = Enumerable.Range(0, 4)
            .Select(_ => chat.GetChatClient("slow").CompleteChatAsync([new UserChatMessage("slow one")]))
            .ToList();
        await Task.Delay(100);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var fast = await chat.GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("fast one")]);
        var fastMs = watch.ElapsedMilliseconds;
        var stillQueued = slow.Count(t => !t.IsCompleted);
        await Task.WhenAll(slow);

        Assert.Equal("Hello from the fake provider", fast.Value.Content[0].Text);
        Assert.True(stillQueued >= 2, $"the fast group answered after {fastMs} ms, yet only {stillQueued} slow requests were still waiting");
        Assert.Equal(1, Slow.MaxInFlight);
        Assert.Equal(4, Slow.Requests.Count);
    }

    [Fact]
    public async Task Embeddings_OfficialSdkAsksBase64_GetsTheProvidersFloatsBack()
    {
        var result = await Sdk().GetEmbeddingClient("embed").GenerateEmbeddingsAsync(["hello", "world"]);

        Assert.True(result.Value.Count == 2, result.GetRawResponse().Content.ToString());
        Assert.Equal([0.1f, 0.2f, 0.3f], result.Value[0].ToFloats().ToArray());
        Assert.Equal([0.1f, 0.2f, 1.3f], result.Value[1].ToFloats().ToArray());
        Assert.Equal(4, result.Value.Usage.InputTokenCount);
        var upstream = Assert.Single(OpenAi.Requests);
        Assert.Equal("/v1/embeddings", upstream.Path);
        Assert.Equal("text-embedding-3-small", upstream.Body["model"]!.GetValue<string>());
        Assert.Equal("base64", upstream.Body["encoding_format"]!.GetValue<string>());
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-broker-queue", out var queue));
        Assert.Equal("model-group.embed", queue);
    }

    [Fact]
    public async Task Embeddings_FloatFormatAndBadInput_AnswerAsOpenAiDoes()
    {
        var (status, body, _) = await PostRawAsync("embeddings", """{"model":"mocked","input":"hello there","dimensions":8}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var vector = body["data"]![0]!["embedding"]!.AsArray();
        Assert.Equal(8, vector.Count);
        var norm = Math.Sqrt(vector.Sum(v => Math.Pow(v!.GetValue<double>(), 2)));
        Assert.InRange(norm, 0.999, 1.001);

        var missing = await PostRawAsync("v1/embeddings", """{"model":"embed"}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        AssertOpenAiError(missing.Body, "invalid_request_error", "missing_required_parameter");
        var badFormat = await PostRawAsync("v1/embeddings", """{"model":"embed","input":"x","encoding_format":"int8"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badFormat.Status);
        Assert.Equal("encoding_format", badFormat.Body["error"]!["param"]!.GetValue<string>());
        Assert.Empty(OpenAi.Requests);
    }

    [Fact]
    public async Task Metrics_AfterRequests_ExposeLiteLlmNamedCountersInPrometheusFormat()
    {
        await Sdk().GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("count me")]);
        await PostRawAsync("v1/chat/completions", """{"model":"gpt-4o","messages":"wrong"}""");

        var text = await Broker.Http.GetStringAsync("metrics");

        Assert.Matches(@"litellm_proxy_total_requests_metric_total\{[^}]*model_group=""gpt-4o""[^}]*status_code=""200""[^}]*\} 1", text);
        Assert.Matches(@"litellm_input_tokens_total\{[^}]*model_group=""gpt-4o""[^}]*\} 13", text);
        Assert.Matches(@"litellm_output_tokens_total\{[^}]*model_group=""gpt-4o""[^}]*\} 5", text);
        Assert.Contains("litellm_request_total_latency_metric_bucket", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamChat_OpenAiUpstream_ChunksArriveAsTheProviderEmitsThem()
    {
        OpenAi.ReplyText = "one two three four five six";
        OpenAi.ChunkDelay = TimeSpan.FromMilliseconds(150);
        var arrivals = new List<(TimeSpan At, string Text)>();
        ChatTokenUsage? usage = null;
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await foreach (var update in Sdk().GetChatClient("gpt-4o").CompleteChatStreamingAsync([new UserChatMessage("count")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                arrivals.Add((watch.Elapsed, part.Text));
            }

            usage ??= update.Usage;
        }

        Assert.Equal("one two three four five six", string.Concat(arrivals.Select(a => a.Text)));
        Assert.True(arrivals.Count >= 4, $"expected the text in several chunks, got {arrivals.Count}");
        var spread = arrivals[^1].At - arrivals[0].At;
        Assert.True(spread >= TimeSpan.FromMilliseconds(500), $"first and last chunk arrived only {spread.TotalMilliseconds:0} ms apart: the answer was buffered");
        Assert.NotNull(usage);
        Assert.Equal(13, usage!.InputTokenCount);
        Assert.Equal(5, usage.OutputTokenCount);
    }

    [Fact]
    public async Task StreamChat_AnthropicUpstream_TranslatesEventsToChunks()
    {
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Sdk().GetChatClient("claude").CompleteChatStreamingAsync([new SystemChatMessage("Be brief."), new UserChatMessage("hi")]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Hello from the fake provider", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(11, usage?.InputTokenCount);
        Assert.Equal(7, usage?.OutputTokenCount);
        var upstream = Assert.Single(Anthropic.Requests);
        Assert.True(upstream.Body["stream"]!.GetValue<bool>());
        Assert.Equal("Be brief.", upstream.Body["system"]!.GetValue<string>());
    }

    [Fact]
    public async Task StreamChat_RawSse_EndsWithDoneAndUsageOnlyWhenAsked()
    {
        var withUsage = await ReadSseAsync("""{"model":"mocked","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");
        var withoutUsage = await ReadSseAsync("""{"model":"mocked","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal("data: [DONE]", withUsage[^1]);
        Assert.Equal("data: [DONE]", withoutUsage[^1]);
        var usageChunk = JsonNode.Parse(withUsage[^2]["data: ".Length..])!;
        Assert.Empty(usageChunk["choices"]!.AsArray());
        Assert.True(usageChunk["usage"]!["completion_tokens"]!.GetValue<int>() > 0);
        Assert.DoesNotContain(withoutUsage, line => line.Contains("\"usage\"", StringComparison.Ordinal));
        var text = string.Concat(withoutUsage.Where(l => l != "data: [DONE]")
            .Select(l => JsonNode.Parse(l["data: ".Length..])!["choices"]![0]!["delta"]!["content"]?.GetValue<string>() ?? ""));
        Assert.Equal("canned answer", text);
        Assert.All(withoutUsage.Where(l => l != "data: [DONE]"), l => Assert.Equal("chat.completion.chunk", JsonNode.Parse(l["data: ".Length..])!["object"]!.GetValue<string>()));
    }

    [Fact]
    public async Task StreamChat_UpstreamFailsBeforeFirstChunk_AnswersWithHttpError()
    {
        // retried within a few seconds: well before the first SSE keep-alive (10 s) would start the response
        OpenAi.Failure = (429, """{"error":{"message":"Rate limit reached for gpt-4o","code":"rate_limit_exceeded"}}""",
            new Dictionary<string, string> { ["retry-after"] = "1" });

        var (status, body, response) = await PostRawAsync("v1/chat/completions", """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        AssertOpenAiError(body, "rate_limit_error", "rate_limit_exceeded");
    }

    [Fact]
    public async Task StreamChat_UpstreamBreaksMidStream_EndsWithErrorEvent()
    {
        OpenAi.ReplyText = "a b c d e f";
        OpenAi.BreakStreamAfterChunks = 2;

        var lines = await ReadSseAsync("""{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        // the error event, then the end every OpenAI stream has
        Assert.Equal("data: [DONE]", lines[^1]);
        Assert.Single(lines, l => l == "data: [DONE]");
        var error = JsonNode.Parse(lines[^2]["data: ".Length..])!["error"];
        Assert.NotNull(error);
        Assert.Equal("api_error", error!["type"]!.GetValue<string>());
        var text = string.Concat(lines.SkipLast(2).Select(l => JsonNode.Parse(l["data: ".Length..])!["choices"]![0]!["delta"]!["content"]?.GetValue<string>() ?? ""));
        Assert.Equal("a b ", text);
    }

    [Fact]
    public async Task StreamChat_ClientDisconnects_CancelsUpstreamAndFreesTheSlot()
    {
        // 60 chunks 0.5 s apart: 30 s if the abandoned stream kept running
        Slow.ReplyText = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"w{i}"));
        Slow.ChunkDelay = TimeSpan.FromMilliseconds(500);

        using (var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions"))
        {
            request.Content = new StringContent("""{"model":"slow","stream":true,"messages":[{"role":"user","content":"long"}]}""", Encoding.UTF8, "application/json");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
            using var response = await Broker.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var first = await reader.ReadLineAsync();
            Assert.StartsWith("data: ", first, StringComparison.Ordinal);
        }

        // the slow group runs one request at a time: the next one is served only if the first was stopped
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var next = await Sdk().GetChatClient("slow").CompleteChatAsync([new UserChatMessage("next")]);
        Assert.Equal(Slow.ReplyText, next.Value.Content[0].Text);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"the next request waited {watch.Elapsed.TotalSeconds:0.0} s: the abandoned stream kept its slot");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Slow.Cancelled == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(1, Slow.Cancelled);
    }

    private async Task<List<string>> ReadSseAsync(string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await Broker.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        return text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(':')).ToList();
    }
}
