using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Routing;

/// <summary>router_settings.enable_tag_filtering through the real HTTP path: request, metadata, key and team tags choose deployments.</summary>
public sealed class TagRoutingTests
{
    private const string Yaml = $$"""
        model_list:
          - model_name: m
            litellm_params: {model: openai/m, mock_response: "from free", tags: ["free"]}
          - model_name: m
            litellm_params: {model: openai/m, mock_response: "from paid", tags: ["paid", "eu"]}
          - model_name: m
            litellm_params: {model: openai/m, mock_response: "from default", tags: ["default"]}
          - model_name: strict
            litellm_params: {model: openai/strict, mock_response: "from a", tags: ["a"]}
          - model_name: strict
            litellm_params: {model: openai/strict, mock_response: "from b", tags: ["b"]}
        router_settings:
          enable_tag_filtering: true
        general_settings:
          master_key: {{MasterKey}}
        """;

    [Fact]
    public async Task CompleteChat_TagFilteringOn_RequestGoesOnlyToDeploymentsCarryingItsTags()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml);

        // several tries each: a group of three picked at random would land elsewhere at least once
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("from free", await AnswerAsync(broker.Http, MasterKey, "m", new JsonObject { ["tags"] = new JsonArray("free") }));
            Assert.Equal("from paid", await AnswerAsync(broker.Http, MasterKey, "m", new JsonObject { ["metadata"] = new JsonObject { ["tags"] = new JsonArray("paid") } }));
            Assert.Equal("from paid", await AnswerAsync(broker.Http, MasterKey, "m", new JsonObject { ["tags"] = "eu" }));
            Assert.Equal("from default", await AnswerAsync(broker.Http, MasterKey, "m", []));
            Assert.Equal("from default", await AnswerAsync(broker.Http, MasterKey, "m", new JsonObject { ["tags"] = new JsonArray("nobody-has-this") }));
            Assert.Equal("from b", await AnswerAsync(broker.Http, MasterKey, "strict", new JsonObject { ["tags"] = new JsonArray("b") }));
        }

        // no deployment carries the tag and none is tagged default: refused in OpenAI's shape, nothing called
        var (status, body, _) = await PostAsync(broker.Http, "v1/chat/completions", MasterKey, Chat("strict", new JsonObject { ["tags"] = new JsonArray("c") }));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = AssertOpenAiError(body);
        Assert.Contains("tags", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("[c]", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteChat_KeyAndTeamMetadataTags_RouteUntaggedRequests()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml);
        var paidKey = await GenerateKeyAsync(broker.Http, new { metadata = new { tags = new[] { "paid" } } });
        var (teamStatus, team, _) = await PostAsync(broker.Http, "team/new", MasterKey, new { team_alias = "free-team", metadata = new { tags = new[] { "free" } } });
        Assert.True(teamStatus == HttpStatusCode.OK, $"team/new: {teamStatus} {team}");
        var teamKey = await GenerateKeyAsync(broker.Http, new { team_id = team!["team_id"]!.GetValue<string>() });

        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("from paid", await AnswerAsync(broker.Http, paidKey, "m", []));
            Assert.Equal("from free", await AnswerAsync(broker.Http, teamKey, "m", []));
        }
    }

    private static JsonObject Chat(string model, JsonObject extra)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        foreach (var (name, value) in extra.ToList())
        {
            extra.Remove(name);
            body[name] = value;
        }

        return body;
    }

    private static async Task<string> AnswerAsync(HttpClient http, string key, string model, JsonObject extra)
    {
        var (status, body, _) = await PostAsync(http, "v1/chat/completions", key, Chat(model, extra));
        Assert.True(status == HttpStatusCode.OK, $"{model}: {status} {body}");
        return body!["choices"]![0]!["message"]!["content"]!.GetValue<string>();
    }
}
