#pragma warning disable OPENAI001 // the SDK's Responses client is marked experimental
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using OpenAI;
using OpenAI.Responses;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// <c>POST /v1/responses</c> end to end: the official OpenAI SDK's Responses client against a running Broker, with a
/// fake OpenAI-compatible provider behind the group (which only ever sees chat completions).
/// </summary>
public abstract class ResponsesTestsBase : IAsyncLifetime
{
    private const string MasterKey = "sk-test-master-key-0002";

    private BrokerRunner? _broker;

    protected FakeUpstream OpenAi { get; private set; } = null!;

    protected BrokerRunner Broker => _broker ?? throw new InvalidOperationException("not started");

    protected abstract Task<BrokerRunner> StartBrokerAsync(string yaml);

    public async Task InitializeAsync()
    {
        OpenAi = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params:
                  model: openai/gpt-4o
                  api_base: {{OpenAi.BaseUrl}}/v1
                  api_key: sk-openai-test-key-1234
              - model_name: mocked
                litellm_params:
                  model: openai/gpt-4o-mini
                  mock_response: "canned answer"
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

    private ResponsesClient Client() =>
        new OpenAIClient(new ApiKeyCredential(MasterKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(Broker.BaseUrl + "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        }).GetResponsesClient();

    [Fact]
    public async Task CreateResponse_OfficialSdk_ReturnsTextUsageAndSendsChatUpstream()
    {
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("Say hello")])
        {
            Instructions = "You are terse.",
            MaxOutputTokenCount = 50,
            Temperature = 0.3f,
            Metadata = { ["ticket"] = "T-1" },
        };

        var result = await Client().CreateResponseAsync(options);

        var response = result.Value;
        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal("Hello from the fake provider", response.GetOutputText());
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal(MessageRole.Assistant, message.Role);
        Assert.Equal(13, response.Usage.InputTokenCount);
        Assert.Equal(5, response.Usage.OutputTokenCount);
        Assert.Equal(18, response.Usage.TotalTokenCount);
        Assert.Equal("T-1", response.Metadata["ticket"]);
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-broker-queue", out var queue));
        Assert.Equal("model-group.gpt-4o", queue);

        var upstream = Assert.Single(OpenAi.Requests);
        Assert.Equal("/v1/chat/completions", upstream.Path);
        var messages = upstream.Body["messages"]!.AsArray();
        Assert.Equal("system", messages[0]!["role"]!.GetValue<string>());
        Assert.Equal("You are terse.", messages[0]!["content"]!.GetValue<string>());
        Assert.Equal("user", messages[1]!["role"]!.GetValue<string>());
        Assert.Equal("Say hello", messages[1]!["content"]!.GetValue<string>());
        Assert.Equal(50, upstream.Body["max_tokens"]!.GetValue<int>());
        Assert.False(upstream.Body.ContainsKey("metadata"));
        Assert.False(upstream.Body.ContainsKey("max_output_tokens"));
    }

    [Fact]
    public async Task CreateResponse_FunctionToolsAndToolHistory_TranslatedToChatTools()
    {
        var options = new CreateResponseOptions("gpt-4o",
        [
            ResponseItem.CreateUserMessageItem("Weather in Paris?"),
            ResponseItem.CreateFunctionCallItem("call_1", "get_weather", BinaryData.FromString("""{"city":"Paris"}""")),
            ResponseItem.CreateFunctionCallOutputItem("call_1", "sunny"),
        ])
        {
            Tools = { ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""), null, "Current weather") },
            ToolChoice = ResponseToolChoice.CreateAutoChoice(),
        };

        var result = await Client().CreateResponseAsync(options);

        Assert.Equal("Hello from the fake provider", result.Value.GetOutputText());
        var body = Assert.Single(OpenAi.Requests).Body;
        var tool = body["tools"]![0]!;
        Assert.Equal("function", tool["type"]!.GetValue<string>());
        Assert.Equal("get_weather", tool["function"]!["name"]!.GetValue<string>());
        Assert.Equal("Current weather", tool["function"]!["description"]!.GetValue<string>());
        Assert.Equal("auto", body["tool_choice"]!.GetValue<string>());
        var messages = body["messages"]!.AsArray();
        Assert.Equal(3, messages.Count);
        Assert.Equal("call_1", messages[1]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("get_weather", messages[1]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("tool", messages[2]!["role"]!.GetValue<string>());
        Assert.Equal("call_1", messages[2]!["tool_call_id"]!.GetValue<string>());
        Assert.Equal("sunny", messages[2]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateResponseStreaming_OfficialSdk_AssemblesTextFromDeltas()
    {
        OpenAi.ReplyText = "one two three four";
        var deltas = new List<string>();
        ResponseResult? completed = null;
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("count")]) { Instructions = "Count.", StreamingEnabled = true };

        var updates = await Client().CreateResponseStreamingAsync(options);
        await foreach (var update in updates)
        {
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    deltas.Add(delta.Delta);
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    break;
            }
        }

        Assert.Equal("one two three four", string.Concat(deltas));
        Assert.True(deltas.Count >= 2, $"expected the text in several deltas, got {deltas.Count}");
        Assert.NotNull(completed);
        Assert.Equal(ResponseStatus.Completed, completed!.Status);
        Assert.Equal("one two three four", completed.GetOutputText());
        Assert.Equal(13, completed.Usage.InputTokenCount);
        Assert.Equal(5, completed.Usage.OutputTokenCount);
        var upstream = Assert.Single(OpenAi.Requests);
        Assert.True(upstream.Body["stream"]!.GetValue<bool>());
        Assert.Equal("Count.", upstream.Body["messages"]![0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateResponseStreaming_RawSse_EventsInOrderWithSequenceNumbers()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = new StringContent("""{"model":"mocked","stream":true,"input":"hi"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);

        using var response = await Broker.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var frames = (await response.Content.ReadAsStringAsync())
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(f => !f.StartsWith(':'))
            .Select(f => f.Split('\n'))
            .Select(lines => (Event: lines[0]["event: ".Length..], Data: JsonNode.Parse(lines[1]["data: ".Length..])!))
            .ToList();
        var types = frames.Select(f => f.Event).Distinct().ToList();
        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta",
             "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"],
            types);
        Assert.All(frames, f => Assert.Equal(f.Event, f.Data["type"]!.GetValue<string>()));
        Assert.Equal(Enumerable.Range(0, frames.Count), frames.Select(f => f.Data["sequence_number"]!.GetValue<int>()));
        var text = string.Concat(frames.Where(f => f.Event == "response.output_text.delta").Select(f => f.Data["delta"]!.GetValue<string>()));
        Assert.Equal("canned answer", text);
        Assert.Equal("completed", frames[^1].Data["response"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateResponse_UnsupportedFeatures_Return400InOpenAiShape()
    {
        var cases = new (string Body, string Param)[]
        {
            ("""{"model":"gpt-4o","input":"hi","previous_response_id":"resp_123"}""", "previous_response_id"),
            ("""{"model":"gpt-4o","input":"hi","tools":[{"type":"web_search_preview"}]}""", "tools[0].type"),
            ("""{"model":"gpt-4o","input":[{"type":"item_reference","id":"msg_1"}]}""", "input[0].type"),
            ("""{"model":"gpt-4o"}""", "input"),
            ("""{"model":"gpt-4o","input":42}""", "input"),
        };

        foreach (var (body, param) in cases)
        {
            var (status, json) = await PostAsync("v1/responses", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            var error = Assert.IsType<JsonObject>(json["error"]);
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
            Assert.Equal(param, error["param"]!.GetValue<string>());
            Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        }

        var (getStatus, getBody) = await SendAsync(HttpMethod.Get, "v1/responses/resp_123", null);
        Assert.Equal(HttpStatusCode.BadRequest, getStatus);
        Assert.Equal("unsupported_parameter", getBody["error"]!["code"]!.GetValue<string>());
        Assert.Empty(OpenAi.Requests);
    }

    [Fact]
    public async Task CreateResponse_UnknownModel_Returns404ModelNotFound()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() =>
            Client().CreateResponseAsync(new CreateResponseOptions("no-such-model", [ResponseItem.CreateUserMessageItem("hi")])));
        Assert.Equal(404, ex.Status);

        var (status, body) = await PostAsync("responses", """{"model":"no-such-model","input":"hi"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", body["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateResponse_UpstreamRateLimited_Returns429InOpenAiShape()
    {
        OpenAi.Failure = (429, """{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}}""",
            new Dictionary<string, string> { ["retry-after"] = "1" });

        var (status, body) = await PostAsync("v1/responses", """{"model":"gpt-4o","input":"hi"}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("rate_limit_error", body["error"]!["type"]!.GetValue<string>());
    }

    private Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string path, string body) => SendAsync(HttpMethod.Post, path, body);

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await Broker.Http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }
}
