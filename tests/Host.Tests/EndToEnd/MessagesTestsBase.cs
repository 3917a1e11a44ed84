using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Core;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// Anthropic's Messages API end to end, for every deployment shape: the official Anthropic .NET SDK against a
/// running Broker whose groups point at a fake Anthropic provider and a fake OpenAI provider.
/// </summary>
public abstract class MessagesTestsBase : IAsyncLifetime
{
    protected const string MasterKey = "sk-test-master-key-0002";

    private BrokerRunner? _broker;

    protected FakeUpstream OpenAiUpstream { get; private set; } = null!;

    protected FakeUpstream AnthropicUpstream { get; private set; } = null!;

    protected BrokerRunner Broker => _broker ?? throw new InvalidOperationException("not started");

    protected abstract Task<BrokerRunner> StartBrokerAsync(string yaml);

    public async Task InitializeAsync()
    {
        OpenAiUpstream = await FakeUpstream.StartOpenAiAsync();
        AnthropicUpstream = await FakeUpstream.StartAnthropicAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params:
                  model: openai/gpt-4o
                  api_base: {{OpenAiUpstream.BaseUrl}}/v1
                  api_key: sk-openai-test-key-1234
              - model_name: claude
                litellm_params:
                  model: anthropic/claude-3-5-sonnet-20240620
                  api_base: {{AnthropicUpstream.BaseUrl}}
                  api_key: sk-ant-test-key-9876
              - model_name: claude-with-fallback
                litellm_params:
                  model: anthropic/claude-3-5-sonnet-20240620
                  api_base: {{AnthropicUpstream.BaseUrl}}
                  api_key: sk-ant-test-key-9876
            router_settings:
              timeout: 20
              fallbacks: [{"claude-with-fallback": ["gpt-4o"]}]
            general_settings:
              master_key: {{MasterKey}}
            """;
        _broker = await StartBrokerAsync(yaml);
    }

    public virtual async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        await OpenAiUpstream.DisposeAsync();
        await AnthropicUpstream.DisposeAsync();
    }

    private AnthropicClient Sdk(string key = MasterKey) =>
        new(new ClientOptions { ApiKey = key, BaseUrl = Broker.BaseUrl, MaxRetries = 0, Timeout = TimeSpan.FromSeconds(60) });

    private static MessageCreateParams Params(string model, string system, string user) => new()
    {
        Model = model,
        MaxTokens = 256,
        System = system,
        Messages = [new UserMessageParam(user)],
    };

    private static string TextOf(Message message) =>
        string.Concat(message.Content.Select(b => b.TryPickText(out var text) ? text.Text : ""));

    [Theory]
    [InlineData("claude")]
    [InlineData("gpt-4o")]
    public async Task CreateMessage_SystemPrompt_ReturnsTextUsageAndStopReason(string model)
    {
        var message = await Sdk().Messages.Create(Params(model, "You are terse.", "Say hello"));

        Assert.Equal("Hello from the fake provider", TextOf(message));
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(model, message.Model.Raw());
        Assert.StartsWith("msg_", message.ID, StringComparison.Ordinal);
        var (input, output) = model == "claude" ? (11, 7) : (13, 5);
        Assert.Equal(input, message.Usage.InputTokens);
        Assert.Equal(output, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task CreateMessage_AnthropicUpstream_ReceivesSystemPromptAndParams()
    {
        var parameters = Params("claude", "You are terse.", "Say hello") with { StopSequences = ["END"] };

        await Sdk().Messages.Create(parameters);

        var upstream = Assert.Single(AnthropicUpstream.Requests);
        Assert.Equal("/v1/messages", upstream.Path);
        Assert.Equal("sk-ant-test-key-9876", upstream.Headers["x-api-key"]);
        Assert.Equal("claude-3-5-sonnet-20240620", upstream.Body["model"]!.GetValue<string>());
        Assert.Equal("You are terse.", upstream.Body["system"]!.GetValue<string>());
        Assert.Equal(256, upstream.Body["max_tokens"]!.GetValue<int>());
        Assert.Equal("END", upstream.Body["stop_sequences"]![0]!.GetValue<string>());
        var message = Assert.Single(upstream.Body["messages"]!.AsArray())!;
        Assert.Equal("user", message["role"]!.GetValue<string>());
        var content = message["content"]!;
        Assert.Equal("Say hello", content is JsonArray blocks ? blocks[0]!["text"]!.GetValue<string>() : content.GetValue<string>());
    }

    [Fact]
    public async Task PostMessages_AnthropicGroup_PassesTheBodyThroughUnchanged()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages?beta=true")
        {
            Content = new StringContent("""
                {"model":"claude","max_tokens":300,"thinking":{"type":"enabled","budget_tokens":200},
                 "system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
                 "metadata":{"user_id":"u-1"},
                 "messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}
                """, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", MasterKey);
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await Broker.Http.SendAsync(request);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message", answer["type"]!.GetValue<string>());
        Assert.Equal("claude", answer["model"]!.GetValue<string>());
        var upstream = Assert.Single(AnthropicUpstream.Requests).Body;
        Assert.Equal("ephemeral", upstream["system"]![0]!["cache_control"]!["type"]!.GetValue<string>());
        Assert.Equal(200, upstream["thinking"]!["budget_tokens"]!.GetValue<int>());
        Assert.Equal("u-1", upstream["metadata"]!["user_id"]!.GetValue<string>());
        Assert.Equal("ephemeral", upstream["messages"]![0]!["content"]![0]!["cache_control"]!["type"]!.GetValue<string>());
        Assert.Equal("claude-3-5-sonnet-20240620", upstream["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task PostMessages_AnthropicGroupFailsOverToOpenAiGroup_AnsweredInAnthropicShape()
    {
        AnthropicUpstream.Failure = (500, """{"type":"error","error":{"type":"api_error","message":"Internal server error"}}""", null);

        var (status, body, _) = await PostRawAsync("v1/messages",
            """{"model":"claude-with-fallback","max_tokens":64,"num_retries":0,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("message", body["type"]!.GetValue<string>());
        Assert.Equal("claude-with-fallback", body["model"]!.GetValue<string>());
        Assert.Equal("Hello from the fake provider", body["content"]![0]!["text"]!.GetValue<string>());
        Assert.Single(AnthropicUpstream.Requests);
        // the fallback group got the request in OpenAI's shape, the system prompt first
        var fallback = Assert.Single(OpenAiUpstream.Requests).Body;
        Assert.Equal("system", fallback["messages"]![0]!["role"]!.GetValue<string>());
        Assert.Equal("user", fallback["messages"]![1]!["role"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateMessage_OpenAiUpstream_ReceivesSystemMessageFirst()
    {
        await Sdk().Messages.Create(Params("gpt-4o", "You are terse.", "Say hello"));

        var upstream = Assert.Single(OpenAiUpstream.Requests);
        Assert.Equal("/v1/chat/completions", upstream.Path);
        Assert.Equal("gpt-4o", upstream.Body["model"]!.GetValue<string>());
        Assert.Equal(256, upstream.Body["max_tokens"]!.GetValue<int>());
        var messages = upstream.Body["messages"]!.AsArray();
        Assert.Equal("system", messages[0]!["role"]!.GetValue<string>());
        Assert.Equal("You are terse.", messages[0]!["content"]!.GetValue<string>());
        Assert.Equal("user", messages[1]!["role"]!.GetValue<string>());
        Assert.Equal("Say hello", messages[1]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateMessage_UnknownModel_ThrowsNotFoundInAnthropicShape()
    {
        await Assert.ThrowsAsync<AnthropicNotFoundException>(() => Sdk().Messages.Create(Params("no-such-model", "s", "hi")));

        var (status, body, _) = await PostRawAsync("v1/messages", """{"model":"no-such-model","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        AssertAnthropicError(body, "not_found_error");
    }

    [Fact]
    public async Task CreateMessage_WrongKey_Returns401InAnthropicShape()
    {
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => Sdk("sk-wrong-key-0000").Messages.Create(Params("claude", "s", "hi")));

        var (status, body, _) = await PostRawAsync("v1/messages", """{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", key: null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertAnthropicError(body, "authentication_error");
        Assert.Empty(AnthropicUpstream.Requests);
    }

    [Fact]
    public async Task CreateMessage_BadBodies_Return400InvalidRequestError()
    {
        var missing = await PostRawAsync("v1/messages", """{"model":"claude","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        AssertAnthropicError(missing.Body, "invalid_request_error");
        Assert.Equal("max_tokens: Field required", missing.Body["error"]!["message"]!.GetValue<string>());

        var malformed = await PostRawAsync("messages", """{"model": "claude", "messages": [""");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
        AssertAnthropicError(malformed.Body, "invalid_request_error");
        Assert.Empty(AnthropicUpstream.Requests);
    }

    [Fact]
    public async Task CreateMessage_UpstreamRateLimited_Returns429RateLimitErrorWithRetryAfter()
    {
        OpenAiUpstream.Failure = (429, """{"error":{"message":"Rate limit reached for gpt-4o","code":"rate_limit_exceeded"}}""",
            new Dictionary<string, string> { ["retry-after"] = "1" });

        var (status, body, response) = await PostRawAsync("v1/messages", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        AssertAnthropicError(body, "rate_limit_error");
        Assert.Contains("Rate limit reached", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        Assert.StartsWith("req_", response.Headers.GetValues("request-id").Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("claude")]
    [InlineData("gpt-4o")]
    public async Task CreateMessageStreaming_Upstream_EmitsAnthropicEventSequenceAndText(string model)
    {
        var types = new List<string>();
        var text = new StringBuilder();
        string? stopReason = null;
        long? outputTokens = null;
        await foreach (var item in Sdk().Messages.CreateStreaming(Params(model, "Be brief.", "hi")))
        {
            types.Add(item.Type.Raw());
            if (item.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var piece))
            {
                text.Append(piece.Text);
            }

            if (item.TryPickDelta(out var messageDelta))
            {
                stopReason = messageDelta.Delta.StopReason?.Raw();
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal("Hello from the fake provider", text.ToString());
        Assert.Equal("message_start", types[0]);
        Assert.Equal("content_block_start", types[1]);
        Assert.All(types.Skip(2).Take(types.Count - 5), t => Assert.Equal("content_block_delta", t));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], types.TakeLast(3));
        Assert.Equal("end_turn", stopReason);
        Assert.Equal(model == "claude" ? 7 : 5, outputTokens);
    }

    [Fact]
    public async Task PostMessages_ClaudeCodeShapeWithBetaQuery_StreamsServerSentEvents()
    {
        // what Claude Code sends for unknown model names: thinking, output_config, a system entry inside messages, tools
        var body = """
            {"model":"gpt-4o","max_tokens":32000,"stream":true,"metadata":{"user_id":"user_x_session_y"},
             "thinking":{"type":"adaptive"},"output_config":{"effort":"medium"},"context_management":{"edits":[]},
             "system":[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Work carefully.","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"system","content":"Extra instructions."},
                         {"role":"user","content":[{"type":"text","text":"list files","cache_control":{"type":"ephemeral"}}]}],
             "tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}]}
            """;
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages?beta=true") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        request.Headers.Add("anthropic-version", "2023-06-01");
        request.Headers.Add("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14");
        request.Headers.Add("x-app", "cli");

        using var response = await Broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("req_", response.Headers.GetValues("request-id").Single(), StringComparison.Ordinal);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(f => f.StartsWith("event: ", StringComparison.Ordinal))
            .Select(f => f.Split('\n')[0]["event: ".Length..])
            .ToList();
        Assert.Equal("message_start", events[0]);
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events.TakeLast(3));
        var upstream = Assert.Single(OpenAiUpstream.Requests);
        var messages = upstream.Body["messages"]!.AsArray();
        Assert.Equal(["system", "system", "user"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("You are Claude Code.\n\nWork carefully.", messages[0]!["content"]!.GetValue<string>());
        Assert.Equal("Bash", upstream.Body["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("user_x_session_y", upstream.Body["user"]!.GetValue<string>());
        Assert.False(upstream.Body.ContainsKey("thinking"));
        Assert.False(upstream.Body.ContainsKey("output_config"));
    }

    [Fact]
    public async Task CountTokens_OfficialSdk_ReturnsInputTokensWithoutCallingUpstream()
    {
        var count = await Sdk().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude",
            System = "You are a helpful assistant.",
            Messages = [new UserMessageParam("How many tokens is this sentence, roughly?")],
        });

        Assert.InRange(count.InputTokens, 10, 40);
        Assert.Empty(AnthropicUpstream.Requests);
    }

    private async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> PostRawAsync(string path, string body, string? key = MasterKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        var response = await Broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject(), response);
    }

    private static void AssertAnthropicError(JsonObject body, string expectedType)
    {
        Assert.Equal("error", body["type"]?.GetValue<string>());
        var error = Assert.IsType<JsonObject>(body["error"]);
        Assert.Equal(expectedType, error["type"]?.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(error["message"]?.GetValue<string>()));
    }
}
