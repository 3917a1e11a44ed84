using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Usage;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Guardrails;

/// <summary>
/// during_call and post_call decisions in the spend log (<c>/spend/logs</c>, <c>metadata.guardrails</c>), on the embedded
/// SQLite store and on PostgreSQL. They are made in the Ingress after the worker recorded the request's usage, so they
/// travel in their own event (<see cref="GuardrailsDecided"/>) and Billing keeps them beside the row: the row shows pre,
/// during and post_call decisions with their latency, whichever event arrived first, and a redelivered event adds nothing.
/// </summary>
public sealed class GuardrailLateDecisionsTests(RabbitMqFixture rabbit) : IAsyncLifetime, IClassFixture<RabbitMqFixture>
{
    private FakeUpstream _upstream = null!;
    private FakeGuardrailServer _guards = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartOpenAiAsync();
        _upstream.ReplyTextFor = (_, body) => "echo: " + body["messages"]!.AsArray().Last()!["content"]!.GetValue<string>();
        _guards = await FakeGuardrailServer.StartAsync();
        _guards.GenericDelay = TimeSpan.FromMilliseconds(50);
        // request texts: blocked when they say during-block; answers: blocked when they say forbidden, else upper-cased (masked)
        _guards.Generic = body =>
        {
            var text = body["texts"]![0]!.GetValue<string>();
            return body["input_type"]!.GetValue<string>() == "request"
                ? text.Contains("during-block", StringComparison.Ordinal)
                    ? new JsonObject { ["action"] = "BLOCKED", ["blocked_reason"] = "request policy" }
                    : new JsonObject { ["action"] = "NONE" }
                : text.Contains("forbidden", StringComparison.Ordinal)
                    ? new JsonObject { ["action"] = "BLOCKED", ["blocked_reason"] = "answer policy" }
                    : new JsonObject { ["action"] = "GUARDRAIL_INTERVENED", ["texts"] = new JsonArray(text.ToUpperInvariant()) };
        };
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _guards.DisposeAsync();
    }

    private string Yaml(string? databaseUrl, string extra = "") => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_base: "{{_upstream.BaseUrl}}/v1", api_key: sk-openai-test-key-1234}
        general_settings:
          master_key: {{MasterKey}}
        {{(databaseUrl is null ? "" : $"  database_url: \"{databaseUrl}\"")}}
        guardrails:
          - guardrail_name: secrets
            litellm_params: {guardrail: hide_secrets, mode: pre_call}
            default_on: true
          - guardrail_name: webhook-during
            litellm_params: {guardrail: generic_guardrail_api, mode: during_call, api_base: "{{_guards.BaseUrl}}"}
          - guardrail_name: webhook-post
            litellm_params: {guardrail: generic_guardrail_api, mode: post_call, api_base: "{{_guards.BaseUrl}}"}
        {{extra}}
        """;

    [Fact]
    public async Task SpendLogs_DuringAndPostCallGuardrailsRan_RowHasEveryPhaseSqlite()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(null));

        await AssertEveryPhaseAsync(broker.Http);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task SpendLogs_DuringAndPostCallGuardrailsRan_RowHasEveryPhasePostgres()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(db.Url));

        await AssertEveryPhaseAsync(broker.Http);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task SpendLogs_DuringAndPostCallGuardrailsRan_RowHasEveryPhaseDistributed()
    {
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            // Ingress, workers and Billing as separate hosts over RabbitMQ: the decisions cross the broker like the usage
            await using var broker = await BrokerRunner.StartDistributedAsync(Yaml(db.Url), url);

            await AssertEveryPhaseAsync(broker.Http);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task SpendLogs_CacheHitUnderGuardrails_HitsRowHasEveryPhaseSqlite()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(null, "litellm_settings: {cache: true, cache_params: {type: local}}"));
        var key = await GenerateKeyAsync(broker.Http, new JsonObject { ["key_alias"] = "cached" });

        var (first, _, _) = await PostAsync(broker.Http, "v1/chat/completions", key, Chat("say hello", stream: false));
        var (second, body, response) = await PostAsync(broker.Http, "v1/chat/completions", key, Chat("say hello", stream: false));

        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Equal("true", response.Headers.GetValues("x-litellm-cache-hit").Single());
        Assert.Equal("ECHO: SAY HELLO", body!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        JsonNode? hit = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            hit = await SpendRowAsync(broker.Http, Guid.Parse(response.Headers.GetValues("x-litellm-call-id").Single()));
            return hit?["metadata"]?["guardrails"] is JsonArray { Count: 3 };
        }, TimeSpan.FromSeconds(30)), $"the cache hit's row never showed its three decisions: {hit?.ToJsonString()}");
        Assert.Equal("True", hit!["cache_hit"]!.GetValue<string>());
        Assert.Equal("secrets:pre_call:allowed,webhook-during:during_call:allowed,webhook-post:post_call:masked", Decisions(hit));
    }

    [Fact]
    public async Task SpendLogs_DecisionsBeforeOrAfterUsageAndRedelivered_MergedOnceSqlite()
    {
        var file = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}.db");
        try
        {
            await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(null), settings: new Dictionary<string, string?> { ["Database:EmbeddedPath"] = file });

            await AssertEitherOrderAsync(broker, async requestId =>
            {
                await using var connection = new SqliteConnection($"Data Source={file}");
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT count(*) FROM broker_spend_guardrails WHERE request_id = $id";
                command.Parameters.AddWithValue("$id", requestId.ToString());
                return (long)(await command.ExecuteScalarAsync())!;
            });
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task SpendLogs_DecisionsBeforeOrAfterUsageAndRedelivered_MergedOncePostgres()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(db.Url));

        await AssertEitherOrderAsync(broker, async requestId =>
            await db.ScalarAsync<long>($"SELECT count(*) FROM broker_spend_guardrails WHERE request_id = '{requestId}'"));
    }

    /// <summary>Four requests through the HTTP path, each on its own key; each key's one row shows every phase that ran.</summary>
    private static async Task AssertEveryPhaseAsync(HttpClient http)
    {
        var checkedKey = await GenerateKeyAsync(http, new JsonObject { ["key_alias"] = "post-masked" });
        var blockedAnswerKey = await GenerateKeyAsync(http, new JsonObject { ["key_alias"] = "post-blocked" });
        var streamKey = await GenerateKeyAsync(http, new JsonObject { ["key_alias"] = "streamed" });
        var blockedRequestKey = await GenerateKeyAsync(http, new JsonObject { ["key_alias"] = "during-blocked" });

        var (masked, maskedBody, maskedResponse) = await PostAsync(http, "v1/chat/completions", checkedKey, Chat("say hello", stream: false));
        var (blockedAnswer, blockedAnswerBody, _) = await PostAsync(http, "v1/chat/completions", blockedAnswerKey, Chat("say forbidden words", stream: false));
        var (streamed, streamedText) = await StreamAsync(http, streamKey, Chat("stream hello", stream: true));
        var (blockedRequest, blockedRequestBody, _) = await PostAsync(http, "v1/chat/completions", blockedRequestKey, Chat("please during-block this", stream: false));

        Assert.Equal(HttpStatusCode.OK, masked);
        Assert.Equal("ECHO: SAY HELLO", maskedBody!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, blockedAnswer);
        Assert.Contains("webhook-post", blockedAnswerBody!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, streamed);
        Assert.Equal("ECHO: STREAM HELLO", streamedText);
        Assert.Equal(HttpStatusCode.BadRequest, blockedRequest);
        Assert.Contains("webhook-during", blockedRequestBody!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var maskedRow = await RowAsync(http, checkedKey, decisions: 3);
        Assert.Equal(maskedResponse.Headers.GetValues("x-litellm-call-id").Single(), maskedRow["request_id"]!.GetValue<string>());
        Assert.Equal("secrets:pre_call:allowed,webhook-during:during_call:allowed,webhook-post:post_call:masked", Decisions(maskedRow));

        // the client got a 400, but the provider answered and was paid: a successful, charged row that says why it was withheld
        var blockedAnswerRow = await RowAsync(http, blockedAnswerKey, decisions: 3);
        Assert.Equal("secrets:pre_call:allowed,webhook-during:during_call:allowed,webhook-post:post_call:blocked", Decisions(blockedAnswerRow));
        Assert.Equal("success", blockedAnswerRow["status"]!.GetValue<string>());
        Assert.True(blockedAnswerRow["total_tokens"]!.GetValue<int>() > 0);

        var streamRow = await RowAsync(http, streamKey, decisions: 3);
        Assert.Equal("secrets:pre_call:allowed,webhook-during:during_call:allowed,webhook-post:post_call:masked", Decisions(streamRow));

        // a during_call refusal withholds the answer before post_call runs
        var blockedRequestRow = await RowAsync(http, blockedRequestKey, decisions: 2);
        Assert.Equal("secrets:pre_call:allowed,webhook-during:during_call:blocked", Decisions(blockedRequestRow));

        foreach (var row in new[] { maskedRow, blockedAnswerRow, streamRow, blockedRequestRow })
        {
            var decisions = row["metadata"]!["guardrails"]!.AsArray();
            Assert.All(decisions, d => Assert.True(d!["latency_ms"]!.GetValue<double>() >= 0));
            // the webhook answers after 50 ms: its latency is measured, not left at zero
            Assert.All(decisions.Where(d => d!["mode"]!.GetValue<string>() != "pre_call"), d => Assert.True(d!["latency_ms"]!.GetValue<double>() >= 40));
        }
    }

    /// <summary>
    /// Billing's side alone, on the bus: decisions that arrive before the usage event (and again, redelivered, after it),
    /// and decisions that arrive after the row was written (twice): both rows show pre, during and post_call once.
    /// </summary>
    private static async Task AssertEitherOrderAsync(BrokerRunner broker, Func<Guid, Task<long>> keptDecisions)
    {
        var bus = broker.Hosts[0].Services.GetRequiredService<IBus>();
        var early = NewId.NextGuid();
        var late = NewId.NextGuid();

        await bus.Publish(Decided(early));
        Assert.True(await EventuallyAsync(async () => await keptDecisions(early) == 1, TimeSpan.FromSeconds(30)), "the early decisions were never kept");
        await bus.Publish(Usage(early));
        await bus.Publish(Decided(early));
        await bus.Publish(Usage(late));
        Assert.True(await EventuallyAsync(async () => (await SpendRowAsync(broker.Http, late)) is not null, TimeSpan.FromSeconds(30)), "the usage row never showed");
        await bus.Publish(Decided(late));
        await bus.Publish(Decided(late));
        Assert.True(await EventuallyAsync(async () => await keptDecisions(late) == 1, TimeSpan.FromSeconds(30)), "the late decisions were never kept");
        // the redelivered copies have had their batch window (half a second) and more
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        const string all = "secrets:pre_call:masked,webhook-during:during_call:allowed,webhook-post:post_call:blocked";
        Assert.Equal(all, Decisions((await SpendRowAsync(broker.Http, early))!));
        Assert.Equal(all, Decisions((await SpendRowAsync(broker.Http, late))!));
        Assert.Equal(1L, await keptDecisions(early));
        Assert.Equal(1L, await keptDecisions(late));
        Assert.Equal([1.5, 20.25, 300.5], (await SpendRowAsync(broker.Http, late))!["metadata"]!["guardrails"]!.AsArray().Select(d => d!["latency_ms"]!.GetValue<double>()));
    }

    private static GuardrailsDecided Decided(Guid requestId) => new()
    {
        RequestId = requestId,
        Guardrails =
        [
            new GuardrailOutcome { Guardrail = "webhook-during", Mode = "during_call", Decision = "allowed", LatencyMs = 20.25 },
            new GuardrailOutcome { Guardrail = "webhook-post", Mode = "post_call", Decision = "blocked", LatencyMs = 300.5 },
        ],
        DecidedAt = DateTimeOffset.UtcNow,
    };

    private static UsageRecorded Usage(Guid requestId) => new()
    {
        RequestId = requestId,
        ModelGroup = "gpt-4o",
        DeploymentId = "d-1",
        Provider = "openai",
        PromptTokens = 3,
        CompletionTokens = 2,
        LatencyMs = 400,
        Succeeded = true,
        CompletedAt = DateTimeOffset.UtcNow,
        Guardrails = [new GuardrailOutcome { Guardrail = "secrets", Mode = "pre_call", Decision = "masked", LatencyMs = 1.5 }],
    };

    private static async Task<JsonNode?> SpendRowAsync(HttpClient http, Guid requestId)
    {
        var (status, body) = await GetAsync(http, $"spend/logs?request_id={requestId}", MasterKey);
        return status == HttpStatusCode.OK && body is JsonArray { Count: 1 } rows ? rows[0] : null;
    }

    /// <summary>The key's single spend row, once it carries <paramref name="decisions"/> guardrail decisions.</summary>
    private static async Task<JsonNode> RowAsync(HttpClient http, string key, int decisions)
    {
        JsonNode? row = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            var (status, body) = await GetAsync(http, "spend/logs?api_key=" + key, MasterKey);
            row = status == HttpStatusCode.OK && body is JsonArray { Count: 1 } rows ? rows[0] : null;
            return row?["metadata"]?["guardrails"] is JsonArray { Count: var count } && count >= decisions;
        }, TimeSpan.FromSeconds(30)), $"the row of key {key[..6]}... never showed {decisions} decisions: {row?.ToJsonString()}");
        return row!;
    }

    private static string Decisions(JsonNode row) =>
        string.Join(",", row["metadata"]!["guardrails"]!.AsArray().Select(d =>
            $"{d!["guardrail"]!.GetValue<string>()}:{d["mode"]!.GetValue<string>()}:{d["decision"]!.GetValue<string>()}"));

    private static JsonObject Chat(string text, bool stream) => new()
    {
        ["model"] = "gpt-4o",
        ["stream"] = stream,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
        ["guardrails"] = new JsonArray("webhook-during", "webhook-post"),
    };

    /// <summary>A streamed request: the status and the text its chunks carried.</summary>
    private static async Task<(HttpStatusCode Status, string Text)> StreamAsync(HttpClient http, string key, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        var text = new StringBuilder();
        foreach (var line in raw.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
        {
            text.Append(JsonNode.Parse(line["data: ".Length..])!["choices"]?.AsArray().FirstOrDefault()?["delta"]?["content"]?.GetValue<string>());
        }

        return (response.StatusCode, text.ToString());
    }
}
