using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Reload.ReloadHttp;

namespace Broker.Host.Tests.Reload;

/// <summary>
/// Runtime models (<c>store_model_in_db: true</c>, embedded SQLite store) where they met the rest of Broker: a deleted
/// group's queue drains, a concurrency change is reapplied, background health checks probe them, and config fallbacks
/// may name a group that exists only at run time.
/// </summary>
public sealed class RuntimeModelGapsTests
{
    private static string Yaml(FakeUpstream upstream, string extraGeneral = "", string extraRouter = "") => $"""
        model_list:
          - model_name: config-model
            litellm_params: {"{"} model: openai/gpt-4o, api_base: "{upstream.BaseUrl}/v1", api_key: sk-config {"}"}
        router_settings:
          timeout: 15
          num_retries: 0
        {extraRouter}
        general_settings:
          master_key: {MasterKey}
          store_model_in_db: true
        {extraGeneral}
        """;

    private static JsonObject NewModel(string name, FakeUpstream upstream, int? maxParallel = null)
    {
        var litellm = new JsonObject { ["model"] = "openai/gpt-4o-mini", ["api_base"] = upstream.BaseUrl + "/v1", ["api_key"] = "sk-runtime" };
        if (maxParallel is { } n)
        {
            litellm["max_parallel_requests"] = n;
        }

        return new JsonObject { ["model_name"] = name, ["litellm_params"] = litellm };
    }

    [Fact]
    public async Task ModelDelete_RequestsQueuedForTheGroup_AnsweredNotStranded()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var slow = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream));
        using var created = await PostAsync(broker.Http, "model/new", NewModel("runtime-slow", slow, maxParallel: 1));
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["model_id"]!.GetValue<string>();
        await WaitForChatAsync(broker.Http, "runtime-slow", HttpStatusCode.OK);
        var warmup = slow.Requests.Count;
        slow.Delay = TimeSpan.FromSeconds(1.5);

        // one at a time: while the first runs, the other two wait in the group's queue
        var chats = Enumerable.Range(0, 3).Select(_ => ChatAsync(broker.Http, "runtime-slow")).ToList();
        await WaitUntilAsync(() => Task.FromResult(slow.Requests.Count > warmup), "the first request reached the provider");
        using var deleted = await PostAsync(broker.Http, "model/delete", new JsonObject { ["id"] = id });
        var answers = await Task.WhenAll(chats);

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(warmup + 3, slow.Requests.Count);
        using var gone = await ChatAsync(broker.Http, "runtime-slow");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    [Fact]
    public async Task ModelUpdate_MaxParallelRequestsRaised_GroupRunsMoreAtOnce()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var slow = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream));
        using var created = await PostAsync(broker.Http, "model/new", NewModel("runtime-limited", slow, maxParallel: 1));
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["model_id"]!.GetValue<string>();
        await WaitForChatAsync(broker.Http, "runtime-limited", HttpStatusCode.OK);
        slow.Delay = TimeSpan.FromSeconds(2);
        slow.ResetStats();
        await AllOkAsync(broker.Http, "runtime-limited", 3);
        var before = slow.MaxInFlight;

        using var updated = await PostAsync(broker.Http, "model/update", new JsonObject
        {
            ["model_info"] = new JsonObject { ["id"] = id },
            ["litellm_params"] = new JsonObject { ["max_parallel_requests"] = 3 },
        });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        slow.ResetStats();
        await AllOkAsync(broker.Http, "runtime-limited", 3);

        Assert.Equal(1, before);
        Assert.True(slow.MaxInFlight > 1, $"at most {slow.MaxInFlight} at once after max_parallel_requests went to 3");
    }

    [Fact]
    public async Task BackgroundHealthChecks_RuntimeModel_Probed()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var runtime = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, """
              background_health_checks: true
              health_check_interval: 1
            """));

        using var created = await PostAsync(broker.Http, "model/new", NewModel("runtime-probed", runtime));

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        // no request names the model: only the background round reaches its provider
        await WaitUntilAsync(() => Task.FromResult(runtime.Requests.Count > 0), "the runtime model was probed");
    }

    [Fact]
    public async Task ConfigFallback_ToRuntimeOnlyGroup_LoadsAndIsResolvedAtRequestTime()
    {
        await using var failing = await FakeUpstream.StartOpenAiAsync();
        failing.Failure = (500, """{"error":{"message":"upstream down","type":"server_error"}}""", null);
        await using var fallback = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(failing, extraRouter: """
              fallbacks: [{ "config-model": ["runtime-fallback"] }]
            """));

        // the target does not exist yet: the request fails (it is not sent anywhere else)
        using var before = await ChatAsync(broker.Http, "config-model");
        var reachedBefore = fallback.Requests.Count;
        using var created = await PostAsync(broker.Http, "model/new", NewModel("runtime-fallback", fallback));
        HttpResponseMessage? after = null;
        await WaitUntilAsync(async () =>
        {
            after?.Dispose();
            after = await ChatAsync(broker.Http, "config-model");
            return after.StatusCode == HttpStatusCode.OK;
        }, "the fallback to the runtime group answered");

        Assert.NotEqual(HttpStatusCode.OK, before.StatusCode);
        Assert.NotNull((await before.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        Assert.Equal(0, reachedBefore);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.NotEmpty(fallback.Requests);
        after!.Dispose();
    }

    private static async Task AllOkAsync(HttpClient http, string model, int count)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => ChatAsync(http, model)));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }
}
