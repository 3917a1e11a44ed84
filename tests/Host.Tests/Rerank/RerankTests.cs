using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Rerank;

/// <summary>/rerank and /v1/rerank through the real path: the group's queue, each provider's rerank API, Cohere's shape back, cost and limits.</summary>
public sealed class RerankTests : IAsyncLifetime
{
    private FakeReranker _cohere = null!;
    private FakeReranker _jina = null!;
    private FakeReranker _voyage = null!;
    private FakeReranker _vllm = null!;
    private BrokerRunner _broker = null!;

    public async Task InitializeAsync()
    {
        _cohere = await FakeReranker.StartAsync(RerankShape.Cohere);
        _jina = await FakeReranker.StartAsync(RerankShape.Jina);
        _voyage = await FakeReranker.StartAsync(RerankShape.Voyage);
        _vllm = await FakeReranker.StartAsync(RerankShape.Jina);
        _broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: cohere-rerank
                litellm_params: {model: cohere/rerank-v3.5, api_base: "{{_cohere.BaseUrl}}", api_key: co-key}
                model_info: {input_cost_per_query: 0.002}
              - model_name: cohere-v1
                litellm_params: {model: cohere/rerank-english-v3.0, api_base: "{{_cohere.BaseUrl}}/v1", api_key: co-key}
              - model_name: jina-rerank
                litellm_params: {model: jina_ai/jina-reranker-v2-base-multilingual, api_base: "{{_jina.BaseUrl}}/v1", api_key: jina-key}
                model_info: {input_cost_per_token: 0.000001}
              - model_name: voyage-rerank
                litellm_params: {model: voyage/rerank-2, api_base: "{{_voyage.BaseUrl}}/v1", api_key: voyage-key}
              - model_name: vllm-rerank
                litellm_params: {model: hosted_vllm/BAAI/bge-reranker-v2-m3, api_base: "{{_vllm.BaseUrl}}"}
              - model_name: mock-rerank
                litellm_params: {model: cohere/rerank-v3.5, mock_response: "ranked"}
              - model_name: one-a-minute
                litellm_params: {model: cohere/rerank-v3.5, api_base: "{{_cohere.BaseUrl}}", api_key: co-key, rpm: 1}
            general_settings:
              master_key: {{MasterKey}}
              disable_retry_on_max_parallel_request_limit_error: true
            """);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        foreach (var fake in new[] { _cohere, _jina, _voyage, _vllm })
        {
            await fake.DisposeAsync();
        }
    }

    [Fact]
    public async Task Rerank_CohereDeployment_RankedBestFirstWithDocumentsAndPricedPerQuery()
    {
        var key = await GenerateKeyAsync(_broker.Http, new { models = new[] { "cohere-rerank" } });
        var request = Rerank("cohere-rerank", top: 2);
        request["metadata"] = new JsonObject { ["tags"] = new JsonArray("search") };

        var (status, body, response) = await PostAsync(_broker.Http, "v1/rerank", key, request);

        Assert.True(status == HttpStatusCode.OK, $"{status} {body}");
        var results = body!["results"]!.AsArray();
        Assert.Equal([2, 1], results.Select(r => r!["index"]!.GetValue<int>()).ToArray());
        Assert.Equal(0.3, results[0]!["relevance_score"]!.GetValue<double>(), 3);
        // an object document comes back as the client sent it, a string one as {text}
        Assert.Equal("""{"text":"Paris is in France","id":"doc-c"}""", results[0]!["document"]!.ToJsonString());
        Assert.Equal("""{"text":"Berlin is in Germany"}""", results[1]!["document"]!.ToJsonString());
        Assert.Equal(1, body["meta"]!["billed_units"]!["search_units"]!.GetValue<int>());
        Assert.Equal(0.002m, decimal.Parse(response.Headers.GetValues("x-litellm-response-cost").Single(), CultureInfo.InvariantCulture));

        var sent = Assert.Single(_cohere.Requests);
        Assert.Equal("/v2/rerank", sent.Path);
        Assert.Equal("Bearer co-key", sent.Headers["authorization"]);
        Assert.Equal("""{"model":"rerank-v3.5","query":"Where is Paris?","documents":["Rome is in Italy","Berlin is in Germany","Paris is in France"],"top_n":2}""",
            sent.Json.ToJsonString());

        // billed to the key like any request, at the per-query price
        JsonArray? rows = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            rows = (await GetAsync(_broker.Http, "spend/logs?api_key=" + key, MasterKey)).Body as JsonArray;
            return rows?.Count == 1;
        }, TimeSpan.FromSeconds(30)), $"spend logs: {rows?.ToJsonString()}");
        Assert.Equal("cohere-rerank", rows![0]!["model_group"]!.GetValue<string>());
        Assert.Equal(0.002m, Spend(rows[0]!["spend"]));
    }

    [Fact]
    public async Task Rerank_EachProvider_CallsItsRerankApiAndAnswersCohereShape()
    {
        var (v1Status, v1, _) = await PostAsync(_broker.Http, "rerank", MasterKey, Rerank("cohere-v1"));
        var (jinaStatus, jina, jinaResponse) = await PostAsync(_broker.Http, "rerank", MasterKey, Rerank("jina-rerank", top: 1, returnDocuments: false));
        var (voyageStatus, voyage, _) = await PostAsync(_broker.Http, "v1/rerank", MasterKey, Rerank("voyage-rerank", top: 2));
        var (vllmStatus, vllm, _) = await PostAsync(_broker.Http, "v1/rerank", MasterKey, Rerank("vllm-rerank"));

        Assert.True(v1Status == HttpStatusCode.OK, $"{v1Status} {v1}");
        Assert.Equal("/v1/rerank", _cohere.Requests.Single().Path);
        Assert.Equal([2, 1, 0], Indexes(v1));

        Assert.True(jinaStatus == HttpStatusCode.OK, $"{jinaStatus} {jina}");
        var jinaSent = Assert.Single(_jina.Requests);
        Assert.Equal("/v1/rerank", jinaSent.Path);
        Assert.Equal("Bearer jina-key", jinaSent.Headers["authorization"]);
        Assert.Equal("jina-reranker-v2-base-multilingual", jinaSent.Json["model"]!.GetValue<string>());
        var best = Assert.Single(jina!["results"]!.AsArray())!.AsObject();
        Assert.Equal(2, best["index"]!.GetValue<int>());
        Assert.False(best.ContainsKey("document"));
        // priced per token: the provider's 42 tokens
        Assert.Equal(FakeReranker.Tokens * 0.000001m, decimal.Parse(jinaResponse.Headers.GetValues("x-litellm-response-cost").Single(), CultureInfo.InvariantCulture));

        Assert.True(voyageStatus == HttpStatusCode.OK, $"{voyageStatus} {voyage}");
        var voyageSent = Assert.Single(_voyage.Requests);
        Assert.Equal("/v1/rerank", voyageSent.Path);
        Assert.Equal(2, voyageSent.Json["top_k"]!.GetValue<int>());
        Assert.False(voyageSent.Json.ContainsKey("top_n"));
        Assert.Equal([2, 1], Indexes(voyage));
        Assert.Equal("Paris is in France", voyage!["results"]![0]!["document"]!["text"]!.GetValue<string>());

        Assert.True(vllmStatus == HttpStatusCode.OK, $"{vllmStatus} {vllm}");
        Assert.Equal("/rerank", _vllm.Requests.Single().Path);
        Assert.Equal("BAAI/bge-reranker-v2-m3", _vllm.Requests.Single().Json["model"]!.GetValue<string>());
        Assert.Equal([2, 1, 0], Indexes(vllm));
    }

    [Fact]
    public async Task Rerank_MockResponseDeployment_RanksByQueryWordsWithoutCallingAnyone()
    {
        var request = new JsonObject
        {
            ["model"] = "mock-rerank",
            ["query"] = "blue sky",
            ["documents"] = new JsonArray("red car", "blue sky today", "the sky"),
        };

        var (status, body, _) = await PostAsync(_broker.Http, "rerank", MasterKey, request);

        Assert.True(status == HttpStatusCode.OK, $"{status} {body}");
        Assert.Equal([1, 2, 0], Indexes(body));
        Assert.Equal(1.0, body!["results"]![0]!["relevance_score"]!.GetValue<double>(), 3);
        Assert.Empty(_cohere.Requests);
    }

    [Fact]
    public async Task Rerank_GroupRpmLimit_SecondRequestRefusedWith429()
    {
        var (first, firstBody, _) = await PostAsync(_broker.Http, "rerank", MasterKey, Rerank("one-a-minute"));
        var (second, secondBody, _) = await PostAsync(_broker.Http, "rerank", MasterKey, Rerank("one-a-minute"));

        Assert.True(first == HttpStatusCode.OK, $"{first} {firstBody}");
        Assert.True(second == HttpStatusCode.TooManyRequests, $"{second} {secondBody}");
        AssertOpenAiError(secondBody);
        Assert.Single(_cohere.Requests);
    }

    [Fact]
    public async Task Rerank_InvalidBody_400InOpenAiShapeNamingTheParam()
    {
        (string Json, string Param)[] cases =
        [
            ("""{"query":"q","documents":["a"]}""", "model"),
            ("""{"model":"cohere-rerank","documents":["a"]}""", "query"),
            ("""{"model":"cohere-rerank","query":"  ","documents":["a"]}""", "query"),
            ("""{"model":"cohere-rerank","query":"q"}""", "documents"),
            ("""{"model":"cohere-rerank","query":"q","documents":[]}""", "documents"),
            ("""{"model":"cohere-rerank","query":"q","documents":[1,2]}""", "documents"),
            ("""{"model":"cohere-rerank","query":"q","documents":["a"],"top_n":0}""", "top_n"),
            ("""{"model":"cohere-rerank","query":"q","documents":["a"],"return_documents":"yes"}""", "return_documents"),
        ];
        foreach (var (json, param) in cases)
        {
            var (status, body, _) = await PostAsync(_broker.Http, "v1/rerank", MasterKey, JsonNode.Parse(json)!);

            Assert.True(status == HttpStatusCode.BadRequest, $"{json}: {status} {body}");
            Assert.Equal(param, AssertOpenAiError(body, "invalid_request_error")["param"]!.GetValue<string>());
        }

        Assert.Empty(_cohere.Requests);
    }

    [Fact]
    public async Task Rerank_UnknownModel_404InOpenAiShape()
    {
        var (status, body, _) = await PostAsync(_broker.Http, "rerank", MasterKey, Rerank("no-such-model"));

        Assert.Equal(HttpStatusCode.NotFound, status);
        AssertOpenAiError(body);
    }

    private static JsonObject Rerank(string model, int? top = null, bool? returnDocuments = null)
    {
        var request = new JsonObject
        {
            ["model"] = model,
            ["query"] = "Where is Paris?",
            ["documents"] = new JsonArray("Rome is in Italy", "Berlin is in Germany", new JsonObject { ["text"] = "Paris is in France", ["id"] = "doc-c" }),
        };
        if (top is { } n)
        {
            request["top_n"] = n;
        }

        if (returnDocuments is { } returned)
        {
            request["return_documents"] = returned;
        }

        return request;
    }

    private static int[] Indexes(JsonNode? body) => body!["results"]!.AsArray().Select(r => r!["index"]!.GetValue<int>()).ToArray();

    private static decimal? Spend(JsonNode? node) => node?.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.Number => node.GetValue<decimal>(),
        System.Text.Json.JsonValueKind.String => decimal.Parse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => null,
    };
}
