using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Broker.TestKit;

/// <summary>The answer shape a <see cref="FakeReranker"/> speaks.</summary>
public enum RerankShape
{
    /// <summary>Cohere (v1 and v2): <c>results</c> and <c>meta.billed_units.search_units</c>.</summary>
    Cohere,

    /// <summary>Jina and vLLM: <c>results</c> with documents and <c>usage.total_tokens</c>.</summary>
    Jina,

    /// <summary>Voyage: <c>top_k</c> in, <c>data</c> and <c>usage.total_tokens</c> out.</summary>
    Voyage,
}

/// <summary>
/// A rerank API on any path: document <c>i</c> scores <c>0.1 × (i + 1)</c> (the last is the best), best first, cut to the
/// request's <c>top_n</c> (Voyage: <c>top_k</c>). Reports <see cref="Tokens"/> tokens where its shape has usage.
/// </summary>
public sealed class FakeReranker : FakeProviderServer
{
    public const int Tokens = 42;

    public RerankShape Shape { get; private init; }

    public static Task<FakeReranker> StartAsync(RerankShape shape) => StartAsync(new FakeReranker { Shape = shape });

    protected override async Task AnswerAsync(HttpContext http, CapturedRequest request)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(request);
        var body = request.Json;
        var documents = body["documents"] as JsonArray ?? [];
        var cut = (Shape == RerankShape.Voyage ? body["top_k"] : body["top_n"]) is JsonValue n && n.TryGetValue<int>(out var top) ? top : documents.Count;
        var items = new JsonArray();
        foreach (var i in Enumerable.Range(0, documents.Count).Reverse().Take(cut))
        {
            var item = new JsonObject { ["index"] = i, ["relevance_score"] = Math.Round(0.1 * (i + 1), 2) };
            if (Shape == RerankShape.Jina)
            {
                item["document"] = new JsonObject { ["text"] = documents[i]?.DeepClone() };
            }

            items.Add(item);
        }

        JsonObject answer = Shape switch
        {
            RerankShape.Cohere => new JsonObject
            {
                ["id"] = "fake-rerank-1",
                ["results"] = items,
                ["meta"] = new JsonObject { ["api_version"] = new JsonObject { ["version"] = "2" }, ["billed_units"] = new JsonObject { ["search_units"] = 1 } },
            },
            RerankShape.Jina => new JsonObject { ["model"] = body["model"]?.DeepClone(), ["usage"] = new JsonObject { ["total_tokens"] = Tokens }, ["results"] = items },
            _ => new JsonObject { ["object"] = "list", ["data"] = items, ["model"] = body["model"]?.DeepClone(), ["usage"] = new JsonObject { ["total_tokens"] = Tokens } },
        };
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(answer.ToJsonString(), http.RequestAborted);
    }
}
