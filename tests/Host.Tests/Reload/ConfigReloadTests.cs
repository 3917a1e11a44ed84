using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broker.Host.Cli;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Reload.ReloadHttp;

namespace Broker.Host.Tests.Reload;

/// <summary>
/// config.yaml edited under a running in-process Broker (all roles, in-memory bus): re-read through the file watch, the
/// periodic hash check, <c>POST /config/reload</c> and <c>broker reload</c>; a new group answers, a removed one is
/// refused while what was queued for it still runs, an invalid edit keeps the running config and says it is stale.
/// </summary>
public sealed partial class ConfigReloadTests
{
    private static readonly Dictionary<string, string?> WatchOnly = new()
    {
        ["Config:ReloadCheckSeconds"] = "0", ["Config:ReloadDebounceMs"] = "100",
    };

    private static readonly Dictionary<string, string?> PeriodicOnly = new()
    {
        ["Config:WatchFile"] = "false", ["Config:ReloadCheckSeconds"] = "1",
    };

    private static readonly Dictionary<string, string?> RouteOnly = new()
    {
        ["Config:WatchFile"] = "false", ["Config:ReloadCheckSeconds"] = "0",
    };

    internal static string Yaml(params (string Name, FakeUpstream Upstream, int? MaxParallel)[] groups) =>
        "model_list:\n" + string.Concat(groups.Select(g =>
            $"  - model_name: {g.Name}\n" +
            $"    litellm_params: {{ model: openai/gpt-4o, api_base: \"{g.Upstream.BaseUrl}/v1\", api_key: sk-upstream" +
            (g.MaxParallel is { } n ? $", max_parallel_requests: {n}" : "") + " }\n")) +
        $"""
        router_settings:
          timeout: 20
          num_retries: 0
        general_settings:
          master_key: {MasterKey}

        """;

    [Fact]
    public async Task EditConfig_GroupAddedWatchOnly_NewGroupAnswers()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(("first", first, null)), settings: WatchOnly);
        using (var before = await ChatAsync(broker.Http, "second"))
        {
            Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        }

        await File.WriteAllTextAsync(broker.ConfigPath, Yaml(("first", first, null), ("second", second, null)));

        await WaitForChatAsync(broker.Http, "second", HttpStatusCode.OK);
        Assert.NotEmpty(second.Requests);
        Assert.Equal(["first", "second"], await ModelIdsAsync(broker.Http));
    }

    [Fact]
    public async Task EditConfig_GroupRemovedPeriodicCheckOnly_RefusedWhileOthersServe()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(("first", first, null), ("second", second, null)), settings: PeriodicOnly);
        using (var before = await ChatAsync(broker.Http, "second"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // as editors and Kubernetes do: a new file renamed over the old one
        var temporary = broker.ConfigPath + ".new";
        await File.WriteAllTextAsync(temporary, Yaml(("first", first, null)));
        File.Move(temporary, broker.ConfigPath, overwrite: true);

        await WaitForChatAsync(broker.Http, "second", HttpStatusCode.NotFound);
        using var other = await ChatAsync(broker.Http, "first");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(["first"], await ModelIdsAsync(broker.Http));
    }

    [Fact]
    public async Task ReloadRoute_InvalidEdit_OldConfigServesAndEveryErrorReported()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(("first", first, null)), settings: RouteOnly);
        await File.WriteAllTextAsync(broker.ConfigPath, $"""
            model_list:
              - model_name: first
                litellm_params: {"{"} api_base: "{first.BaseUrl}/v1" {"}"}
              - model_name: second
                litellm_params: {"{"} api_base: "{second.BaseUrl}/v1" {"}"}
            general_settings:
              master_key: {MasterKey}
            """);

        using var anonymous = await PostAsync(broker.Http, "config/reload", null, key: "sk-not-the-master");
        using var refused = await PostAsync(broker.Http, "config/reload", null);
        var error = (await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        using var stillServed = await ChatAsync(broker.Http, "first");
        var readiness = await ReadinessAsync(broker.Http);
        var metrics = await MetricsMatchingAsync(broker.Http, StaleMetric(broker.ConfigPath, 1));

        Assert.True(anonymous.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, anonymous.StatusCode.ToString());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_config", error["code"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("model_list[0].litellm_params.model", message, StringComparison.Ordinal);
        Assert.Contains("model_list[1].litellm_params.model", message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, stillServed.StatusCode);
        Assert.Equal("degraded", readiness["checks"]!["config"]!.GetValue<string>());
        Assert.Matches(StaleMetric(broker.ConfigPath, 1), metrics);

        // fixed: the next reload puts it in force and the config is no longer stale
        await File.WriteAllTextAsync(broker.ConfigPath, Yaml(("first", first, null), ("second", second, null)));
        using var reloaded = await PostAsync(broker.Http, "config/reload", null);
        var body = (await reloaded.Content.ReadFromJsonAsync<JsonObject>())!;
        using var added = await ChatAsync(broker.Http, "second");

        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        Assert.Equal("reloaded", body["status"]!.GetValue<string>());
        Assert.Equal(["second"], body["added"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal("healthy", (await ReadinessAsync(broker.Http))["checks"]!["config"]!.GetValue<string>());
        Assert.Matches(StaleMetric(broker.ConfigPath, 0), await MetricsMatchingAsync(broker.Http, StaleMetric(broker.ConfigPath, 0)));
    }

    [Fact]
    public async Task Metrics_TwoBrokersInOneProcessOneStops_OtherReportsOnlyItsOwnSeries()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var earlier = await BrokerRunner.StartEmbeddedAsync(Yaml(("first", upstream, null)), settings: RouteOnly);
        await using var later = await BrokerRunner.StartEmbeddedAsync(Yaml(("first", upstream, null)), settings: RouteOnly);
        var earlierPath = Regex.Escape(Path.GetFullPath(earlier.ConfigPath));

        var beside = await MetricsMatchingAsync(later.Http, StaleMetric(later.ConfigPath, 0));
        await earlier.DisposeAsync();
        var after = await MetricsMatchingAsync(later.Http, StaleMetric(later.ConfigPath, 0));

        Assert.Matches(StaleMetric(later.ConfigPath, 0), beside);
        Assert.DoesNotMatch($"config=\"{earlierPath}\"", beside);
        Assert.Matches(StaleMetric(later.ConfigPath, 0), after);
    }

    [Fact]
    public async Task ReloadCommand_RunningGateway_ReloadsOrPrintsEveryError()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(("first", first, null)), settings: RouteOnly);
        var env = new Dictionary<string, string> { ["LITELLM_PROXY_URL"] = broker.BaseUrl, ["LITELLM_PROXY_API_KEY"] = MasterKey };
        await File.WriteAllTextAsync(broker.ConfigPath, Yaml(("first", first, null), ("second", second, null)));

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await BrokerCli.InvokeAsync(["reload"], stdout, stderr, name => env.GetValueOrDefault(name));
        using var added = await ChatAsync(broker.Http, "second");

        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("added: second", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);

        await File.WriteAllTextAsync(broker.ConfigPath, "model_list: [ { model_name: x } ]\n");
        using var badOut = new StringWriter();
        using var badErr = new StringWriter();
        var badCode = await BrokerCli.InvokeAsync(["reload"], badOut, badErr, name => env.GetValueOrDefault(name));
        using var kept = await ChatAsync(broker.Http, "second");

        Assert.Equal(1, badCode);
        Assert.Contains("400", badErr.ToString(), StringComparison.Ordinal);
        Assert.Contains("model_list[0].litellm_params", badErr.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
    }

    [Fact]
    public async Task ReloadRoute_GroupRemovedWithQueuedRequests_QueuedOnesStillAnswered()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var slow = await FakeUpstream.StartOpenAiAsync();
        slow.Delay = TimeSpan.FromSeconds(1.5);
        // one at a time: while the first runs, the other two wait in the group's queue
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(("first", first, null), ("slow", slow, 1)), settings: RouteOnly);
        var chats = Enumerable.Range(0, 3).Select(_ => ChatAsync(broker.Http, "slow")).ToList();
        await WaitUntilAsync(() => Task.FromResult(slow.Requests.Count >= 1), "the first request reached the provider");

        await File.WriteAllTextAsync(broker.ConfigPath, Yaml(("first", first, null)));
        using var reloaded = await PostAsync(broker.Http, "config/reload", null);
        var body = (await reloaded.Content.ReadFromJsonAsync<JsonObject>())!;
        using var refused = await ChatAsync(broker.Http, "slow");
        var answers = await Task.WhenAll(chats);

        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        Assert.Equal(["slow"], body["removed"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(3, slow.Requests.Count);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    [Fact]
    public async Task ReloadRoute_CacheCallTypesEmptied_NoLongerCachedWithoutRestart()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var cached = Yaml(("first", upstream, null)) + "litellm_settings:\n  cache: true\n  cache_params: { type: local }\n";
        await using var broker = await BrokerRunner.StartEmbeddedAsync(cached, settings: RouteOnly);
        using (var warm = await ChatAsync(broker.Http, "first"))
        using (var hit = await ChatAsync(broker.Http, "first"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
            Assert.True(hit.Headers.TryGetValues("x-litellm-cache-hit", out var values) && values.Contains("true"), "the repeat was a cache hit");
        }

        await File.WriteAllTextAsync(broker.ConfigPath,
            Yaml(("first", upstream, null)) + "litellm_settings:\n  cache: true\n  cache_params: { type: local, supported_call_types: [] }\n");
        using var reloaded = await PostAsync(broker.Http, "config/reload", null);
        var before = upstream.Requests.Count;
        using var again = await ChatAsync(broker.Http, "first");

        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.False(again.Headers.Contains("x-litellm-cache-hit") && again.Headers.GetValues("x-litellm-cache-hit").Contains("true"));
        Assert.Equal(before + 1, upstream.Requests.Count);
    }

    private static async Task<JsonObject> ReadinessAsync(HttpClient http)
    {
        using var response = await http.GetAsync("health/readiness");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    // the Prometheus exporter may answer a scrape from its short response cache: read again until it shows the value
    private static async Task<string> MetricsMatchingAsync(HttpClient http, Regex expected)
    {
        var text = "";
        for (var i = 0; i < 50; i++)
        {
            text = await http.GetStringAsync("metrics");
            if (expected.IsMatch(text))
            {
                break;
            }

            await Task.Delay(100);
        }

        return text;
    }

    // This broker's own series: other brokers alive in the test process report the same gauge with their own file.
    private static Regex StaleMetric(string configPath, int value) =>
        new($@"(?m)^broker_config_stale\{{[^}}]*config=""{Regex.Escape(Path.GetFullPath(configPath))}""[^}}]*\}} {value}(\s|$)");
}
