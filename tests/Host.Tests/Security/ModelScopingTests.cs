using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Security;

/// <summary>
/// A key's models hold whatever the request looks like: a body sent as text/plain or form-encoded (curl -d) is
/// read as JSON and checked like any other, and no fallback (in the body or the config) takes the request to a
/// group outside the key's models.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ModelScopingTests
{
    private const string Failing = """{"error":{"message":"primary exploded","type":"server_error"}}""";

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task Chat_NonJsonContentTypeWithModelOutsideTheKey_Refused(string contentType)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { models = new[] { "gpt-4o-mini" } });

        var (outside, outsideBody) = await SendAsync(broker.Http, key, contentType, ChatBody("o1"));
        var (inside, _) = await SendAsync(broker.Http, key, contentType, ChatBody("gpt-4o-mini"));

        Assert.Equal(HttpStatusCode.Unauthorized, outside);
        AssertOpenAiError(outsideBody, "key_model_access_denied");
        // the same body is served when the model is the key's: the content type does not matter, the JSON does
        Assert.Equal(HttpStatusCode.OK, inside);
        Assert.Equal(["gpt-4o-mini"], upstream.Requests.Select(r => r.Body["model"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Chat_FormEncodedBody_KeyAliasAndEnforceUserParamApply()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, "  enforce_user_param: true"));
        var key = await GenerateKeyAsync(broker.Http, new
        {
            models = new[] { "gpt-4o-mini" },
            aliases = new Dictionary<string, string> { ["my-model"] = "gpt-4o-mini" },
        });
        const string form = "application/x-www-form-urlencoded";

        var (withoutUser, withoutUserBody) = await SendAsync(broker.Http, key, form, ChatBody("my-model"));
        var (aliased, aliasedBody) = await SendAsync(broker.Http, key, form, ChatBody("my-model", user: "end-user-1"));

        Assert.Equal(HttpStatusCode.BadRequest, withoutUser);
        Assert.Equal("user", AssertOpenAiError(withoutUserBody)["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, aliased);
        Assert.Equal("gpt-4o-mini", Assert.Single(upstream.Requests).Body["model"]!.GetValue<string>());
        Assert.NotNull(aliasedBody?["choices"]);
    }

    [Theory]
    [InlineData("reject_clientside_metadata_tags")]
    [InlineData("reject_metadata_tags")]
    public async Task Chat_ClientTagsWhenRejected_400NamingWhereTheyWere(string setting)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, $"  {setting}: true"));
        var key = await GenerateKeyAsync(broker.Http, new { metadata = new { tags = new[] { "team-a" } } });

        var inMetadata = await PostAsync(broker.Http, "v1/chat/completions", key,
            new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hi" } }, metadata = new { tags = new[] { "free-tier" } } });
        var topLevel = await PostAsync(broker.Http, "v1/chat/completions", key,
            new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hi" } }, tags = "free-tier" });
        var litellmMetadata = await PostAsync(broker.Http, "v1/chat/completions", key,
            new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hi" } }, litellm_metadata = new { tags = new[] { "premium" } } });
        var plain = await PostAsync(broker.Http, "v1/chat/completions", key,
            new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hi" } } });

        Assert.Equal(HttpStatusCode.BadRequest, inMetadata.Status);
        Assert.Equal("metadata.tags", AssertOpenAiError(inMetadata.Body)["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, topLevel.Status);
        Assert.Equal("tags", AssertOpenAiError(topLevel.Body)["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, litellmMetadata.Status);
        Assert.Equal("litellm_metadata.tags", AssertOpenAiError(litellmMetadata.Body)["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, plain.Status);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Batch_LineWithClientTagsWhenRejected_BatchRefusedNamingTheLine()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, "  reject_clientside_metadata_tags: true"));
        var key = await GenerateKeyAsync(broker.Http, new { metadata = new { tags = new[] { "team-a" } } });
        var line = new JsonObject
        {
            ["custom_id"] = "1", ["method"] = "POST", ["url"] = "/v1/chat/completions",
            ["body"] = new JsonObject
            {
                ["model"] = "gpt-4o", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
                ["metadata"] = new JsonObject { ["tags"] = new JsonArray("premium") },
            },
        };
        var client = new Broker.Host.Tests.Batches.BatchTestClient(broker, key);

        var created = await client.CreateAsync(await client.UploadAsync(line.ToJsonString() + "\n"));

        // as OpenAI validates a batch: created, then failed with each bad line's error
        var validated = await client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(20));
        Assert.Equal("failed", validated!["status"]!.GetValue<string>());
        var error = validated["errors"]!["data"]![0]!;
        Assert.Equal("body.metadata.tags", error["param"]!.GetValue<string>());
        Assert.Contains("reject_clientside_metadata_tags", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Chat_BodyFallbackOutsideKeyModels_SkippedAndLogged()
    {
        await using var primary = await FakeUpstream.StartOpenAiAsync();
        await using var outside = await FakeUpstream.StartOpenAiAsync();
        await using var inside = await FakeUpstream.StartOpenAiAsync();
        primary.Failure = (500, Failing, null);
        await using var db = await TestDatabase.CreateAsync();
        var logs = LogCapture.Create();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            ThreeGroups(primary, outside, inside, db.Url, "  num_retries: 0"), settings: logs.Settings);
        var key = await GenerateKeyAsync(broker.Http, new { models = new[] { "gpt-4o", "gpt-4o-mini" } });
        var body = ChatBody("gpt-4o");
        body["fallbacks"] = new JsonArray("o1", "gpt-4o-mini");

        var (status, answer, response) = await PostAsync(broker.Http, "v1/chat/completions", key, body);

        Assert.True(status == HttpStatusCode.OK, answer?.ToJsonString());
        Assert.Equal("gpt-4o-mini", response.Headers.GetValues("x-litellm-model-group").Single());
        Assert.Empty(outside.Requests);
        Assert.Single(inside.Requests);
        Assert.Contains("Fallback o1 of a request for gpt-4o skipped", logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_ConfigFallbackOutsideKeyModels_NotCalledButStillServesTheAdmin()
    {
        await using var primary = await FakeUpstream.StartOpenAiAsync();
        await using var outside = await FakeUpstream.StartOpenAiAsync();
        await using var inside = await FakeUpstream.StartOpenAiAsync();
        primary.Failure = (500, Failing, null);
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(ThreeGroups(primary, outside, inside, db.Url, """
              num_retries: 0
              fallbacks: [{gpt-4o: [o1]}]
              default_fallbacks: [o1]
            """));
        var key = await GenerateKeyAsync(broker.Http, new { models = new[] { "gpt-4o" } });

        var (keyStatus, keyBody, _) = await ChatAsync(broker.Http, key, "gpt-4o");
        // Responses are translated to chat: the narrowed fallbacks go with them
        var (responsesStatus, _, _) = await PostAsync(broker.Http, "v1/responses", key, new JsonObject { ["model"] = "gpt-4o", ["input"] = "hi" });
        var outsideAfterKey = outside.Requests.Count;
        var (adminStatus, _, _) = await ChatAsync(broker.Http, MasterKey, "gpt-4o");

        // the primary's failure is the answer: the configured fallback is not the key's
        Assert.NotEqual(HttpStatusCode.OK, keyStatus);
        AssertOpenAiError(keyBody);
        Assert.NotEqual(HttpStatusCode.OK, responsesStatus);
        Assert.Equal(0, outsideAfterKey);
        Assert.Equal(HttpStatusCode.OK, adminStatus);
        Assert.Single(outside.Requests);
    }

    [Fact]
    public async Task Chat_WeightedRoundRobinToAnotherGroup_ItsConfigFallbackOutsideKeyModelsNotCalled()
    {
        await using var primary = await FakeUpstream.StartOpenAiAsync();
        await using var outside = await FakeUpstream.StartOpenAiAsync();
        await using var inside = await FakeUpstream.StartOpenAiAsync();
        primary.Failure = (500, Failing, null);
        inside.Failure = (500, Failing, null);
        await using var db = await TestDatabase.CreateAsync();
        // gpt-4o shares its traffic with gpt-4o-mini, whose configured fallback (o1) is not the key's
        await using var broker = await BrokerRunner.StartEmbeddedAsync(ThreeGroups(primary, outside, inside, db.Url, """
              num_retries: 0
              fallbacks: [{gpt-4o-mini: [o1]}]
              load_balancing:
                strategy: weighted_round_robin
                weights: [{model_name: gpt-4o, weight: 0.5}, {model_name: gpt-4o-mini, weight: 0.5}]
            """));
        var key = await GenerateKeyAsync(broker.Http, new { models = new[] { "gpt-4o" } });

        for (var i = 0; i < 4; i++)
        {
            var (status, body, _) = await ChatAsync(broker.Http, key, "gpt-4o");
            Assert.NotEqual(HttpStatusCode.OK, status);
            AssertOpenAiError(body);
        }

        Assert.NotEmpty(inside.Requests); // the balancer did send some to gpt-4o-mini
        Assert.Empty(outside.Requests);
    }

    /// <summary>gpt-4o on <paramref name="primary"/>, o1 on <paramref name="outside"/>, gpt-4o-mini on <paramref name="inside"/>.</summary>
    private static string ThreeGroups(FakeUpstream primary, FakeUpstream outside, FakeUpstream inside, string databaseUrl, string router) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, api_base: "{{primary.BaseUrl}}/v1", api_key: k }
          - model_name: o1
            litellm_params: { model: openai/o1, api_base: "{{outside.BaseUrl}}/v1", api_key: k }
          - model_name: gpt-4o-mini
            litellm_params: { model: openai/gpt-4o-mini, api_base: "{{inside.BaseUrl}}/v1", api_key: k }
        router_settings:
        {{router}}
        general_settings:
          master_key: {{MasterKey}}
          database_url: "{{databaseUrl}}"
        """;

    private static JsonObject ChatBody(string model, string? user = null)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        if (user is not null)
        {
            body["user"] = user;
        }

        return body;
    }

    /// <summary>A JSON body sent under another Content-Type, as <c>curl -d</c> does.</summary>
    private static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, string key, string contentType, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToJsonString())),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
