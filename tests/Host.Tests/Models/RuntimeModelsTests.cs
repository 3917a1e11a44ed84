using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Models;

/// <summary>
/// Runtime models (<c>store_model_in_db: true</c>) through the real HTTP path: <c>/model/new</c>, a chat served by the
/// new group's queue, <c>/model/update</c> moving it to another api_base, <c>/model/delete</c> ending it, on the embedded
/// SQLite store and on PostgreSQL, across a restart, and with the roles in separate hosts over RabbitMQ.
/// </summary>
public sealed class RuntimeModelsTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-models-master-0001";
    private const string UpstreamKey = "sk-runtime-upstream-secret-9876";

    private static string Yaml(FakeUpstream upstream, string? databaseUrl, bool storeModelInDb = true) => $$"""
        model_list:
          - model_name: config-model
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-config }
            model_info: { id: config-deployment }
        router_settings:
          timeout: 30
          num_retries: 0
        general_settings:
          master_key: {{MasterKey}}
          store_model_in_db: {{(storeModelInDb ? "true" : "false")}}
        {{(databaseUrl is null ? "" : $"  database_url: \"{databaseUrl}\"")}}
        """;

    [Fact]
    public async Task ModelNewUpdateDelete_EmbeddedSqlite_ServedMovedThenNotFound()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(first, null));

        await AssertLifecycleAsync(broker.Http, first, second);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task ModelNewUpdateDelete_EmbeddedPostgres_ServedMovedThenNotFound()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(first, db.Url));

        await AssertLifecycleAsync(broker.Http, first, second);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task ModelNewUpdateDelete_Distributed_EveryRoleHostFollows()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartDistributedAsync(Yaml(first, db.Url), url);

            await AssertLifecycleAsync(broker.Http, first, second);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task ModelNew_AfterRestartOnTheSameSqliteFile_StillServed()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var file = Path.Combine(Path.GetTempPath(), $"broker-models-{Guid.NewGuid():N}.db");
        var settings = new Dictionary<string, string?> { ["Database:EmbeddedPath"] = file };
        try
        {
            await using (var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null), settings: settings))
            {
                using var created = await PostAsync(broker.Http, "model/new", NewModel("kept-model", upstream));
                Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            }

            await using var restarted = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null), settings: settings);
            using var chat = await ChatAsync(restarted.Http, "kept-model");

            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
            Assert.Single(upstream.Requests);
            Assert.Contains("kept-model", await ModelIdsAsync(restarted.Http));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(file + suffix);
            }
        }
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task ModelNew_AfterRestartOnTheSamePostgresDatabase_StillServed()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using (var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, db.Url)))
        {
            using var created = await PostAsync(broker.Http, "model/new", NewModel("kept-model", upstream));
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        await using var restarted = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, db.Url));
        using var chat = await ChatAsync(restarted.Http, "kept-model");

        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Single(upstream.Requests);
        Assert.Contains("kept-model", await ModelIdsAsync(restarted.Http));
    }

    [Fact]
    public async Task ModelWrites_StoreModelInDbOff_RefusedWhileModelInfoAnswers()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null, storeModelInDb: false));

        using var created = await PostAsync(broker.Http, "model/new", NewModel("refused-model", upstream));
        using var deleted = await PostAsync(broker.Http, "model/delete", new JsonObject { ["id"] = "anything" });
        using var info = await SendAsync(broker.Http, HttpMethod.Get, "v1/model/info", null);

        Assert.Equal(HttpStatusCode.BadRequest, created.StatusCode);
        Assert.Equal("store_model_in_db_disabled", (await created.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        var infoJson = (await info.Content.ReadFromJsonAsync<JsonObject>())!;
        // /model/info says the writes are closed, and why (the admin UI hides its model forms by it)
        Assert.False(infoJson["runtime_models"]!["enabled"]!.GetValue<bool>());
        Assert.Contains("store_model_in_db", infoJson["runtime_models"]!["refusal"]!.GetValue<string>(), StringComparison.Ordinal);
        var data = infoJson["data"]!.AsArray();
        var only = Assert.Single(data);
        Assert.Equal("config-model", only!["model_name"]!.GetValue<string>());
        Assert.False(only["model_info"]!["db_model"]!.GetValue<bool>());
        Assert.DoesNotContain("refused-model", await ModelIdsAsync(broker.Http));
    }

    [Fact]
    public async Task ModelWrites_ConfigModelOrBadParamsOrNoMasterKey_RefusedClearly()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null));

        using var deleteConfig = await PostAsync(broker.Http, "model/delete", new JsonObject { ["id"] = "config-deployment" });
        using var updateConfig = await PostAsync(broker.Http, "model/update", new JsonObject { ["model_info"] = new JsonObject { ["id"] = "config-deployment" } });
        var missingEnv = NewModel("env-model", upstream);
        missingEnv["litellm_params"]!["api_key"] = "os.environ/BROKER_TEST_NOT_SET_" + Guid.NewGuid().ToString("N");
        using var badEnv = await PostAsync(broker.Http, "model/new", missingEnv);
        using var noModel = await PostAsync(broker.Http, "model/new", new JsonObject { ["model_name"] = "x", ["litellm_params"] = new JsonObject() });
        // a model that could never be called (config.yaml keeps such an entry with a warning; a runtime model is refused)
        using var azureWithoutBase = await PostAsync(broker.Http, "model/new", new JsonObject
        {
            ["model_name"] = "azure-model", ["litellm_params"] = new JsonObject { ["model"] = "azure/gpt-4", ["api_key"] = "sk-123" },
        });
        using var deleteMissing = await PostAsync(broker.Http, "model/delete", new JsonObject { ["id"] = "no-such-model" });
        using var anonymous = await SendAsync(broker.Http, HttpMethod.Post, "model/new", NewModel("anon-model", upstream), key: "sk-not-the-master");

        Assert.Equal(HttpStatusCode.BadRequest, deleteConfig.StatusCode);
        Assert.Contains("read-only", await deleteConfig.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, updateConfig.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badEnv.StatusCode);
        Assert.Contains("BROKER_TEST_NOT_SET_", await badEnv.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noModel.StatusCode);
        Assert.Contains("model: required", await noModel.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, azureWithoutBase.StatusCode);
        Assert.Contains("calls to this deployment fail", await azureWithoutBase.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, deleteMissing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(["config-model"], await ModelIdsAsync(broker.Http));
    }

    [Fact]
    public async Task RuntimeModel_KeyScopedToOtherModels_RefusedAndNotListed()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null));
        using var created = await PostAsync(broker.Http, "model/new", NewModel("runtime-model", upstream));
        using var generated = await PostAsync(broker.Http, "key/generate", new JsonObject { ["models"] = new JsonArray("config-model") });
        var key = (await generated.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();

        using var refused = await SendAsync(broker.Http, HttpMethod.Post, "v1/chat/completions", new JsonObject
        {
            ["model"] = "runtime-model",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        }, key);
        using var listed = await SendAsync(broker.Http, HttpMethod.Get, "v1/models", null, key);
        using var info = await SendAsync(broker.Http, HttpMethod.Get, "model/info", null, key);

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.True(refused.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, refused.StatusCode.ToString());
        Assert.Empty(upstream.Requests);
        var ids = (await listed.Content.ReadFromJsonAsync<JsonObject>())!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());
        Assert.Equal(["config-model"], ids);
        Assert.True(info.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, info.StatusCode.ToString());
    }

    [Fact]
    public async Task ModelNew_EnvReferenceIntoAConfigGroup_StoredAsGivenResolvedForTheCall()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var other = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null) + """

            environment_variables:
              RUNTIME_TEST_UPSTREAM_KEY: sk-resolved-from-env-4321
            """);
        var model = new JsonObject
        {
            // a second deployment of config-model, its key an os.environ reference
            ["model_name"] = "config-model",
            ["litellm_params"] = new JsonObject
            {
                ["model"] = "openai/gpt-4o-mini", ["api_base"] = other.BaseUrl + "/v1", ["api_key"] = "os.environ/RUNTIME_TEST_UPSTREAM_KEY",
            },
            ["model_info"] = new JsonObject { ["id"] = "runtime-second" },
        };

        using var created = await PostAsync(broker.Http, "model/new", model);
        using var sameId = await PostAsync(broker.Http, "model/new", model);
        var configId = model.DeepClone().AsObject();
        configId["model_info"]!["id"] = "config-deployment";
        using var takenByConfig = await PostAsync(broker.Http, "model/new", configId);
        await WaitUntilAsync(async () =>
        {
            using var chat = await ChatAsync(broker.Http, "config-model");
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
            return other.Requests.Count > 0;
        });
        using var info = await SendAsync(broker.Http, HttpMethod.Get, "model/info?litellm_model_id=runtime-second", null);

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, sameId.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, takenByConfig.StatusCode);
        Assert.Equal("Bearer sk-resolved-from-env-4321", other.Requests.First().Headers["authorization"]);
        var listed = Assert.Single((await info.Content.ReadFromJsonAsync<JsonObject>())!["data"]!.AsArray())!;
        Assert.Equal("os.environ/RUNTIME_TEST_UPSTREAM_KEY", listed["litellm_params"]!["api_key"]!.GetValue<string>());
        Assert.Equal(["config-model"], await ModelIdsAsync(broker.Http));
    }

    [Fact]
    public async Task ModelNew_EnvReferenceToBrokersOwnSecret_RefusedAndNothingSent()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var attacker = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null) + $$"""

            environment_variables:
              INNOCENT_LOOKING_KEY: {{MasterKey}}
              PLAIN_UPSTREAM_KEY: sk-fine-5555
            """);
        JsonObject Model(string name, string apiKey, string? header = null)
        {
            var model = NewModel(name, attacker);
            model["litellm_params"]!["api_key"] = apiKey;
            if (header is not null)
            {
                model["litellm_params"]!["extra_headers"] = new JsonObject { ["x-leak"] = header };
            }

            return model;
        }

        using var masterByName = await PostAsync(broker.Http, "model/new", Model("leak-1", "os.environ/LITELLM_MASTER_KEY"));
        using var databaseByName = await PostAsync(broker.Http, "model/new", Model("leak-2", "os.environ/DATABASE_URL"));
        using var masterByValue = await PostAsync(broker.Http, "model/new", Model("leak-3", "os.environ/INNOCENT_LOOKING_KEY"));
        using var insideHeader = await PostAsync(broker.Http, "model/new", Model("leak-4", "sk-x", "bearer os.environ/LITELLM_SALT_KEY"));
        // the loader trims the name after the prefix, so a space there must not hide the reference
        using var spaced = await PostAsync(broker.Http, "model/new", Model("leak-5", "os.environ/ LITELLM_MASTER_KEY"));
        using var fine = await PostAsync(broker.Http, "model/new", Model("fine-model", "os.environ/PLAIN_UPSTREAM_KEY"));

        foreach (var (refused, variable) in new[] { (masterByName, "LITELLM_MASTER_KEY"), (databaseByName, "DATABASE_URL"), (masterByValue, "INNOCENT_LOOKING_KEY"), (insideHeader, "LITELLM_SALT_KEY"), (spaced, "LITELLM_MASTER_KEY") })
        {
            var text = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, text);
            Assert.Equal("invalid_model", JsonNode.Parse(text)!["error"]!["code"]!.GetValue<string>());
            Assert.Contains("os.environ/" + variable, text, StringComparison.Ordinal);
            Assert.DoesNotContain(MasterKey, text, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
        var ids = await ModelIdsAsync(broker.Http);
        Assert.DoesNotContain(ids, id => id.StartsWith("leak-", StringComparison.Ordinal));
        Assert.Empty(attacker.Requests);
    }

    /// <summary>new → chat served by the first upstream → update api_base → served by the second → delete → model not found.</summary>
    private static async Task AssertLifecycleAsync(HttpClient http, FakeUpstream first, FakeUpstream second)
    {
        using var created = await PostAsync(http, "model/new", NewModel("runtime-model", first));
        var createdText = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.OK, createdText);
        Assert.DoesNotContain(UpstreamKey, createdText, StringComparison.Ordinal);
        var id = JsonNode.Parse(createdText)!["model_id"]!.GetValue<string>();

        Assert.Contains("runtime-model", await ModelIdsAsync(http));
        using (var chat = await EventuallyServedAsync(http, "runtime-model"))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        var toFirst = Assert.Single(first.Requests);
        Assert.Equal("gpt-4o-mini", toFirst.Body["model"]!.GetValue<string>());

        using var updated = await PostAsync(http, "model/update", new JsonObject
        {
            ["model_info"] = new JsonObject { ["id"] = id },
            ["litellm_params"] = new JsonObject { ["api_base"] = second.BaseUrl + "/v1" },
        });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        await WaitUntilAsync(async () =>
        {
            using var chat = await ChatAsync(http, "runtime-model");
            return chat.StatusCode == HttpStatusCode.OK && second.Requests.Count > 0;
        });
        Assert.NotEmpty(second.Requests);

        using var info = await SendAsync(http, HttpMethod.Get, "model/info", null);
        var infoText = await info.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        Assert.DoesNotContain(UpstreamKey, infoText, StringComparison.Ordinal);
        Assert.True(JsonNode.Parse(infoText)!["runtime_models"]!["enabled"]!.GetValue<bool>());
        var data = JsonNode.Parse(infoText)!["data"]!.AsArray();
        var runtime = data.Single(m => m!["model_info"]!["id"]!.GetValue<string>() == id)!;
        Assert.True(runtime["model_info"]!["db_model"]!.GetValue<bool>());
        Assert.Equal(second.BaseUrl + "/v1", runtime["litellm_params"]!["api_base"]!.GetValue<string>());
        Assert.Equal("sk-...9876", runtime["litellm_params"]!["api_key"]!.GetValue<string>());
        Assert.False(data.Single(m => m!["model_name"]!.GetValue<string>() == "config-model")!["model_info"]!["db_model"]!.GetValue<bool>());

        using var deleted = await PostAsync(http, "model/delete", new JsonObject { ["id"] = id });
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        await WaitUntilAsync(async () =>
        {
            using var chat = await ChatAsync(http, "runtime-model");
            return chat.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest;
        });
        using var gone = await ChatAsync(http, "runtime-model");
        Assert.Contains("model_not_found", await gone.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("runtime-model", await ModelIdsAsync(http));
        using var deletedAgain = await PostAsync(http, "model/delete", new JsonObject { ["id"] = id });
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
    }

    private static JsonObject NewModel(string name, FakeUpstream upstream) => new()
    {
        ["model_name"] = name,
        ["litellm_params"] = new JsonObject { ["model"] = "openai/gpt-4o-mini", ["api_base"] = upstream.BaseUrl + "/v1", ["api_key"] = UpstreamKey },
        ["model_info"] = new JsonObject { ["description"] = "added at run time" },
    };

    /// <summary>A chat to a just-created group; in distributed mode the Ingress may learn of it a moment before the workers consume its queue.</summary>
    private static async Task<HttpResponseMessage> EventuallyServedAsync(HttpClient http, string model)
    {
        HttpResponseMessage? last = null;
        await WaitUntilAsync(async () =>
        {
            last?.Dispose();
            last = await ChatAsync(http, model);
            return last.StatusCode == HttpStatusCode.OK;
        });
        return last!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), "the condition did not hold within 45 s");
            await Task.Delay(200);
        }
    }

    private static Task<HttpResponseMessage> ChatAsync(HttpClient http, string model) =>
        PostAsync(http, "v1/chat/completions", new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        });

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, JsonObject body) => SendAsync(http, HttpMethod.Post, path, body);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject? body, string key = MasterKey)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return await http.SendAsync(request);
    }

    private static async Task<List<string>> ModelIdsAsync(HttpClient http)
    {
        using var response = await SendAsync(http, HttpMethod.Get, "v1/models", null);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();
        return [.. json!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>())];
    }
}
