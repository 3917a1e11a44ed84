using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// Legacy <c>POST /v1/completions</c> end to end over raw HTTP (the .NET SDK has no legacy completions client),
/// with a fake OpenAI-compatible provider behind the group.
/// </summary>
public abstract class CompletionsLegacyTestsBase : IAsyncLifetime
{
    private const string MasterKey = "sk-test-master-key-0003";

    private BrokerRunner? _broker;

    protected FakeUpstream OpenAi { get; private set; } = null!;

    protected BrokerRunner Broker => _broker ?? throw new InvalidOperationException("not started");

    protected abstract Task<BrokerRunner> StartBrokerAsync(string yaml);

    public async Task InitializeAsync()
    {
        OpenAi = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-3.5-turbo-instruct
                litellm_params:
                  model: openai/gpt-4o-mini
                  api_base: {{OpenAi.BaseUrl}}/v1
                  api_key: sk-openai-test-key-1234
            router_settings:
              timeout: 20
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

        await OpenAi.DisposeAsync();
    }

    [Fact]
    public async Task CreateCompletion_StringPrompt_ReturnsTextCompletionAndSendsOneUserMessage()
    {
        var (status, body, response) = await PostAsync("v1/completions",
            """{"model":"gpt-3.5-turbo-instruct","prompt":"Say hello","max_tokens":20,"temperature":0.1,"stop":["\n"],"user":"u-1"}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("cmpl-", body["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("text_completion", body["object"]!.GetValue<string>());
        Assert.True(body["created"]!.GetValue<long>() > 0);
        var choice = Assert.Single(body["choices"]!.AsArray())!;
        Assert.Equal("Hello from the fake provider", choice["text"]!.GetValue<string>());
        Assert.Equal(0, choice["index"]!.GetValue<int>());
        Assert.Null(choice["logprobs"]);
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal(13, body["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(5, body["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal("model-group.gpt-3.5-turbo-instruct", response.Headers.GetValues("x-broker-queue").Single());

        var upstream = Assert.Single(OpenAi.Requests);
        Assert.Equal("/v1/chat/completions", upstream.Path);
        var message = Assert.Single(upstream.Body["messages"]!.AsArray())!;
        Assert.Equal("user", message["role"]!.GetValue<string>());
        Assert.Equal("Say hello", message["content"]!.GetValue<string>());
        Assert.Equal(20, upstream.Body["max_tokens"]!.GetValue<int>());
        Assert.Equal("\n", upstream.Body["stop"]![0]!.GetValue<string>());
        Assert.Equal("u-1", upstream.Body["user"]!.GetValue<string>());
        Assert.False(upstream.Body.ContainsKey("prompt"));
    }

    [Fact]
    public async Task CreateCompletion_PromptBatch_OneChoicePerPromptAndSummedUsage()
    {
        var (status, body, _) = await PostAsync("completions", """{"model":"gpt-3.5-turbo-instruct","prompt":["first","second"]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var choices = body["choices"]!.AsArray();
        Assert.Equal([0, 1], choices.Select(c => c!["index"]!.GetValue<int>()));
        Assert.Equal(26, body["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(["first", "second"], OpenAi.Requests.Select(r => r.Body["messages"]![0]!["content"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task CreateCompletion_Streamed_TextFramesThenDone()
    {
        OpenAi.ReplyText = "one two three";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent("""{"model":"gpt-3.5-turbo-instruct","prompt":"count","stream":true}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);

        using var response = await Broker.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.Length > 0 && !l.StartsWith(':')).ToList();
        Assert.Equal("data: [DONE]", lines[^1]);
        var frames = lines.SkipLast(1).Select(l => JsonNode.Parse(l["data: ".Length..])!).ToList();
        Assert.All(frames, f => Assert.Equal("text_completion", f["object"]!.GetValue<string>()));
        Assert.Equal("one two three", string.Concat(frames.Select(f => f["choices"]![0]!["text"]!.GetValue<string>())));
        Assert.True(frames.Count >= 3, $"expected several text frames, got {frames.Count}");
        Assert.Equal("stop", frames[^1]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.DoesNotContain(frames, f => f["usage"] is not null);
        Assert.True(Assert.Single(OpenAi.Requests).Body["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task CreateCompletion_BadPrompts_Return400InOpenAiShape()
    {
        var cases = new (string Body, string Code)[]
        {
            ("""{"model":"gpt-3.5-turbo-instruct","prompt":[1,2,3]}""", "unsupported_value"),
            ("""{"model":"gpt-3.5-turbo-instruct","prompt":[[1,2],[3]]}""", "unsupported_value"),
            ("""{"model":"gpt-3.5-turbo-instruct"}""", "missing_required_parameter"),
            ("""{"model":"gpt-3.5-turbo-instruct","prompt":{"text":"hi"}}""", "invalid_type"),
            ("""{"model":"gpt-3.5-turbo-instruct","prompt":"hi","echo":true}""", "unsupported_value"),
        };

        foreach (var (json, code) in cases)
        {
            var (status, body, _) = await PostAsync("v1/completions", json);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            var error = Assert.IsType<JsonObject>(body["error"]);
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
            Assert.Equal(code, error["code"]!.GetValue<string>());
        }

        var (notFound, notFoundBody, _) = await PostAsync("v1/completions", """{"model":"no-such-model","prompt":"hi"}""");
        Assert.Equal(HttpStatusCode.NotFound, notFound);
        Assert.Equal("model_not_found", notFoundBody["error"]!["code"]!.GetValue<string>());
        Assert.Empty(OpenAi.Requests);
    }

    private async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> PostAsync(string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        var response = await Broker.Http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject(), response);
    }
}
