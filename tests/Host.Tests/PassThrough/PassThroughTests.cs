using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.PassThrough;

/// <summary>
/// general_settings.pass_through_endpoints through the real HTTP path: an in-process Broker forwarding to a target on
/// 127.0.0.1 — methods, subpaths, headers, keys, limits, budgets, spend rows, SSE streaming and a target that is down.
/// </summary>
public sealed class PassThroughTests
{
    private static string Yaml(string entries, string? databaseUrl = null) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, mock_response: "hi" }
        general_settings:
          master_key: {{MasterKey}}
        {{(databaseUrl is null ? "" : $"  database_url: \"{databaseUrl}\"")}}
          pass_through_endpoints:
        {{entries}}
        """;

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(
        HttpClient http, HttpMethod method, string path, string? key, string? body = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Theory]
    [InlineData("GET", null)]
    [InlineData("POST", """{"query":"capital of France?","documents":["Paris"]}""")]
    [InlineData("PUT", """{"name":"x"}""")]
    [InlineData("DELETE", null)]
    public async Task Forward_AnyMethod_ReachesTheTargetAndRelaysItsAnswer(string method, string? body)
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($"    - {{path: /v1/rerank, target: \"{target.BaseUrl}/v2/rerank?version=1\"}}"));

        var (status, text, response) = await SendAsync(broker.Http, new HttpMethod(method), "/v1/rerank?top_n=3", MasterKey, body);

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("yes", response.Headers.GetValues("x-target").Single());
        var received = Assert.Single(target.Requests);
        Assert.Equal(method, received.Method);
        Assert.Equal("/v2/rerank", received.Path);
        Assert.Equal("?version=1&top_n=3", received.Query);
        Assert.Equal(body ?? "", received.Body);
        var answer = JsonNode.Parse(text)!;
        Assert.Equal(body ?? "", answer["echo"]!.GetValue<string>());
        // the target's own cost header never reaches the client: the cost is Broker's to say (none configured here)
        Assert.False(response.Headers.Contains("x-litellm-response-cost"));
    }

    [Fact]
    public async Task Forward_IncludeSubpath_SubpathAppendedToTarget_OtherwiseOnlyTheExactPath()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($$"""
                - {path: /bria, target: "{{target.BaseUrl}}/api", include_subpath: true}
                - {path: /exact, target: "{{target.BaseUrl}}/only"}
            """));

        var (deep, _, _) = await SendAsync(broker.Http, HttpMethod.Post, "/bria/v1/text-to-image/base?seed=7", MasterKey, "{}");
        var (root, _, _) = await SendAsync(broker.Http, HttpMethod.Get, "/bria", MasterKey);
        var (exact, _, _) = await SendAsync(broker.Http, HttpMethod.Get, "/exact", MasterKey);
        var (under, underBody, _) = await SendAsync(broker.Http, HttpMethod.Get, "/exact/more", MasterKey);

        Assert.Equal(HttpStatusCode.Created, deep);
        Assert.Equal(HttpStatusCode.Created, root);
        Assert.Equal(HttpStatusCode.Created, exact);
        Assert.Equal(HttpStatusCode.NotFound, under);
        AssertOpenAiError(JsonNode.Parse(underBody));
        Assert.Equal(["/api/v1/text-to-image/base?seed=7", "/api", "/only"], target.Requests.Select(r => r.Path + r.Query).ToArray());
    }

    [Fact]
    public async Task Forward_Headers_ConfiguredFromEnvAndClientOnesOnlyWithForwardHeaders_NeverTheBrokerKey()
    {
        await using var target = await PassThroughTarget.StartAsync();
        var env = new Dictionary<string, string> { ["TARGET_API_KEY"] = "target-secret-1", ["TARGET_TOKEN"] = "tok-2" };
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($$"""
                - path: /with
                  target: "{{target.BaseUrl}}/with"
                  headers: {Authorization: "bearer os.environ/TARGET_API_KEY", x-target-token: os.environ/TARGET_TOKEN, content-type: application/vnd.test+json}
                  forward_headers: True
                - path: /without
                  target: "{{target.BaseUrl}}/without"
                  headers: {Authorization: "bearer os.environ/TARGET_API_KEY"}
                - path: /plain
                  target: "{{target.BaseUrl}}/plain"
                  forward_headers: true
            """), env);
        // the admin UI's session cookie is Broker's credential too: other cookies pass, it never does
        var client = new Dictionary<string, string>
        {
            ["x-trace-id"] = "trace-9", ["x-api-key"] = MasterKey, ["Cookie"] = "app=1; broker_ui_session=sealed-session; theme=dark",
        };

        foreach (var path in new[] { "/with", "/without", "/plain" })
        {
            var (status, text, _) = await SendAsync(broker.Http, HttpMethod.Post, path, MasterKey, "{}", client);
            Assert.True(status == HttpStatusCode.Created, $"{path}: {status} {text}");
        }

        var with = target.Requests.Single(r => r.Path == "/with").Headers;
        var without = target.Requests.Single(r => r.Path == "/without").Headers;
        var plain = target.Requests.Single(r => r.Path == "/plain").Headers;
        Assert.Equal("bearer target-secret-1", with["authorization"]);
        Assert.Equal("tok-2", with["x-target-token"]);
        Assert.Equal("trace-9", with["x-trace-id"]);
        Assert.Equal("application/vnd.test+json", with["content-type"]);
        Assert.Equal("bearer target-secret-1", without["authorization"]);
        Assert.False(without.ContainsKey("x-trace-id"));
        Assert.StartsWith("application/json", without["content-type"], StringComparison.Ordinal);
        Assert.Equal("trace-9", plain["x-trace-id"]);
        foreach (var headers in new[] { with, without, plain })
        {
            Assert.DoesNotContain(headers, h => h.Value.Contains(MasterKey, StringComparison.Ordinal));
        }

        Assert.False(plain.ContainsKey("authorization"));
        Assert.False(plain.ContainsKey("x-api-key"));
        Assert.Equal("app=1; theme=dark", plain["cookie"]);
        Assert.DoesNotContain(with["cookie"], "broker_ui_session", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_NoKeyOrBadKey_401AndTargetNotCalled_AuthFalseOpensTheRoute()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($$"""
                - {path: /guarded, target: "{{target.BaseUrl}}/guarded"}
                - {path: /open, target: "{{target.BaseUrl}}/open", auth: false}
            """));

        var (none, noneBody, _) = await SendAsync(broker.Http, HttpMethod.Post, "/guarded", null, "{}");
        var (bad, badBody, _) = await SendAsync(broker.Http, HttpMethod.Get, "/guarded", "sk-not-a-key");
        var (open, _, _) = await SendAsync(broker.Http, HttpMethod.Post, "/open", null, "{}");

        Assert.Equal(HttpStatusCode.Unauthorized, none);
        AssertOpenAiError(JsonNode.Parse(noneBody));
        Assert.Equal(HttpStatusCode.Unauthorized, bad);
        AssertOpenAiError(JsonNode.Parse(badBody));
        Assert.Equal(HttpStatusCode.Created, open);
        Assert.Equal(["/open"], target.Requests.Select(r => r.Path).ToArray());
    }

    [Fact]
    public async Task RpmLimit_KeyOverItsLimit_429InOpenAiShapeAndTargetNotCalled()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($"    - {{path: /rerank, target: \"{target.BaseUrl}/rerank\"}}"));
        var key = await GenerateKeyAsync(broker.Http, new { rpm_limit = 2 });
        while (DateTime.UtcNow.Second > 45)
        {
            await Task.Delay(500);
        }

        var first = await SendAsync(broker.Http, HttpMethod.Post, "/rerank", key, "{}");
        var second = await SendAsync(broker.Http, HttpMethod.Get, "/rerank", key);
        var third = await SendAsync(broker.Http, HttpMethod.Post, "/rerank", key, "{}");

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, second.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        AssertOpenAiError(JsonNode.Parse(third.Body), "rate_limit_error");
        Assert.Equal(2, target.Requests.Count);
    }

    [Fact]
    public async Task Routes_KeyAllowedRoutes_ApplyToPassThroughPaths()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($$"""
                - {path: /a, target: "{{target.BaseUrl}}/a"}
                - {path: /b, target: "{{target.BaseUrl}}/b"}
            """));
        var key = await GenerateKeyAsync(broker.Http, new { allowed_routes = new[] { "/a" } });

        var (a, _, _) = await SendAsync(broker.Http, HttpMethod.Get, "/a", key);
        var (b, bBody, _) = await SendAsync(broker.Http, HttpMethod.Get, "/b", key);

        Assert.Equal(HttpStatusCode.Created, a);
        Assert.Equal(HttpStatusCode.Forbidden, b);
        AssertOpenAiError(JsonNode.Parse(bBody), "auth_error");
        Assert.Equal(["/a"], target.Requests.Select(r => r.Path).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait("Category", "Integration")]
    public async Task Spend_CostPerRequest_WritesARowWithTheRouteAndThenTheBudgetRefusesEveryMethod(bool postgres)
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var db = postgres ? await TestDatabase.CreateAsync() : null;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(
            $"    - {{path: /bria, target: \"{target.BaseUrl}/api\", include_subpath: true, cost_per_request: 0.25}}", db?.Url));
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = 0.2 });

        var (first, _, response) = await SendAsync(broker.Http, HttpMethod.Post, "/bria/v1/enhance", key, "{}");
        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal("0.25", response.Headers.GetValues("x-litellm-response-cost").Single());
        JsonArray logs = [];
        Assert.True(await EventuallyAsync(async () =>
        {
            var (status, body) = await GetAsync(broker.Http, "spend/logs?api_key=" + key, MasterKey);
            logs = status == HttpStatusCode.OK ? body!.AsArray() : [];
            return logs.Count == 1;
        }, TimeSpan.FromSeconds(30)), "the pass-through call never showed in /spend/logs");
        var row = logs[0]!;
        Assert.Equal("/bria", row["model_group"]!.GetValue<string>());
        Assert.Equal("/bria/v1/enhance", row["model_id"]!.GetValue<string>());
        Assert.Equal("pass_through", row["custom_llm_provider"]!.GetValue<string>());
        Assert.Equal("pass_through_endpoint", row["call_type"]!.GetValue<string>());
        Assert.Equal(0.25m, row["spend"]!.GetValue<decimal>());
        Assert.True(await EventuallyAsync(async () =>
        {
            var (status, info) = await GetAsync(broker.Http, "key/info?key=" + key, MasterKey);
            return status == HttpStatusCode.OK && info!["info"]!["spend"]!.GetValue<decimal>() >= 0.25m;
        }, TimeSpan.FromSeconds(30)), "the key's spend never reached 0.25");

        var (get, getBody, _) = await SendAsync(broker.Http, HttpMethod.Get, "/bria/v1/status", key);
        var (post, postBody, _) = await SendAsync(broker.Http, HttpMethod.Post, "/bria/v1/enhance", key, "{}");

        Assert.Equal(HttpStatusCode.BadRequest, get);
        Assert.Equal("budget_exceeded", AssertOpenAiError(JsonNode.Parse(getBody))["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, post);
        AssertOpenAiError(JsonNode.Parse(postBody), "budget_exceeded");
        Assert.Single(target.Requests);
    }

    [Fact]
    public async Task Budget_CallInFlightHoldsItsCostPerRequest_ConcurrentCallRefused()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(
            $"    - {{path: /img, target: \"{target.BaseUrl}\", include_subpath: true, cost_per_request: 0.25}}"));
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = 0.2 });

        var held = SendAsync(broker.Http, HttpMethod.Post, "/img/held", key, "{}");
        Assert.True(await EventuallyAsync(() => Task.FromResult(target.Requests.Count == 1), TimeSpan.FromSeconds(30)), "the first call never reached the target");
        var (second, secondBody, _) = await SendAsync(broker.Http, HttpMethod.Get, "/img/status", key);
        target.ReleaseHeld();
        var (first, _, _) = await held;

        Assert.Equal(HttpStatusCode.BadRequest, second);
        Assert.Contains("requests in flight hold", AssertOpenAiError(JsonNode.Parse(secondBody), "budget_exceeded")["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Single(target.Requests);
    }

    [Fact]
    public async Task Stream_Sse_FirstEventReachesTheClientBeforeTheTargetFinishes()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($"    - {{path: /stream, target: \"{target.BaseUrl}\", include_subpath: true}}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "stream/events")
        {
            Content = new StringContent("""{"stream":true}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);

        using var response = await broker.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var firstLine = await reader.ReadLineAsync(wait.Token);
        var endedBeforeFirstEvent = target.StreamEnded;
        target.ReleaseStream();
        var rest = await reader.ReadToEndAsync(wait.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("data: one", firstLine);
        Assert.False(endedBeforeFirstEvent);
        Assert.Contains("data: two", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forward_TargetDown_502InOpenAiShape()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($"    - {{path: /down, target: \"http://127.0.0.1:{port}/x\"}}"));

        var (status, body, _) = await SendAsync(broker.Http, HttpMethod.Post, "/down", MasterKey, "{}");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal("upstream_unavailable", AssertOpenAiError(JsonNode.Parse(body), "api_error")["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Forward_TargetSilentPastTheActivityTimeout_504InOpenAiShape()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml($"    - {{path: /slow, target: \"{target.BaseUrl}/slow\"}}"),
            settings: new Dictionary<string, string?> { ["PassThrough:ActivityTimeoutSeconds"] = "1" });

        var (status, body, _) = await SendAsync(broker.Http, HttpMethod.Get, "/slow", MasterKey);

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        AssertOpenAiError(JsonNode.Parse(body), "timeout");
    }

    [Fact]
    public async Task BrokerRoutes_EveryMappedRoute_IsReservedAgainstPassThroughPaths()
    {
        await using var target = await PassThroughTarget.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml($"    - {{path: /rerank, target: \"{target.BaseUrl}\", auth: false}}"));

        var routes = broker.Hosts[0].Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var passThrough = routes.Where(r => r.Metadata.GetMetadata<PassThroughEndpoint>() is not null).Select(r => r.RoutePattern.RawText).ToList();
        var own = routes.Where(r => r.Metadata.GetMetadata<PassThroughEndpoint>() is null && r.RoutePattern.RawText is { } raw && !raw.StartsWith("{*", StringComparison.Ordinal) && raw != "/")
            .Select(r => r.RoutePattern.RawText!)
            .ToList();

        Assert.Equal(["/rerank"], passThrough);
        Assert.True(own.Count > 50, $"only {own.Count} routes found");
        // the literal part of each of Broker's routes (before its first parameter) is a reserved family
        var unreserved = own.Select(raw => "/" + raw.Split('{')[0].Trim('/'))
            .Where(literal => BrokerRoutes.CollisionOf(literal, includeSubpath: false) is null && !BrokerRoutes.Yielding.Contains(literal)).ToList();
        Assert.True(unreserved.Count == 0, "Broker routes a pass-through path could take (add them to BrokerRoutes.Reserved): " + string.Join(", ", unreserved));
    }
}
