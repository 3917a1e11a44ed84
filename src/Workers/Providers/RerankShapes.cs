using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Broker.Workers.Inference;

namespace Broker.Workers.Providers;

/// <summary>
/// The rerank request Broker hands to providers and the Cohere-shaped answer every provider's ranking is turned into:
/// <c>{id, results: [{index, relevance_score, document?: {text}}], meta: {billed_units: {search_units, total_tokens}}}</c>,
/// best first, at most <c>top_n</c>, with each document as the client sent it unless <c>return_documents</c> is false.
/// </summary>
public static class RerankShapes
{
    /// <summary>The request fields a rerank provider may receive; everything else (metadata, tags, ...) stays in the gateway.</summary>
    private static readonly string[] Fields = ["query", "documents", "top_n", "return_documents", "rank_fields", "max_chunks_per_doc", "max_tokens_per_doc"];

    /// <summary>The client's rerank fields with <c>model</c> set to the provider's model name.</summary>
    public static JsonObject Request(JsonObject body, string providerModel)
    {
        ArgumentNullException.ThrowIfNull(body);
        var request = new JsonObject { ["model"] = providerModel };
        foreach (var field in Fields)
        {
            if (body[field] is { } value)
            {
                request[field] = value.DeepClone();
            }
        }

        return request;
    }

    /// <summary>Each document's text: a string as is, an object's <c>text</c>, else the object as JSON.</summary>
    public static List<string> Texts(JsonObject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (request["documents"] as JsonArray ?? []).Select(d => d switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonObject o when o["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String => t.GetValue<string>(),
            _ => d?.ToJsonString() ?? "",
        }).ToList();
    }

    public static int? TopN(JsonObject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request["top_n"] is JsonValue v && v.TryGetValue<int>(out var n) && n > 0 ? n : null;
    }

    /// <summary>Documents come back with their results unless the request says <c>return_documents: false</c> (LiteLLM's default is true).</summary>
    public static bool ReturnDocuments(JsonObject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request["return_documents"] is not JsonValue v || !v.TryGetValue<bool>(out var returned) || returned;
    }

    /// <summary>Tokens of the query and the documents, for limits and per-token prices when the provider reports none.</summary>
    public static int CountTokens(JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = request["query"] is JsonValue q && q.GetValueKind() == JsonValueKind.String ? q.GetValue<string>() : "";
        return TokenCounter.Count(query, cancellationToken) + Texts(request).Sum(t => TokenCounter.Count(t, cancellationToken));
    }

    /// <summary>
    /// A provider's ranking (<c>results</c> as Cohere, Jina and vLLM answer, or <c>data</c> as Voyage does; each item's
    /// <c>index</c> and <c>relevance_score</c>) in Cohere's shape. Tokens: the provider's count, else <paramref name="countedTokens"/>;
    /// search units: Cohere's billed ones, else 1.
    /// </summary>
    public static ProviderResult ToCohere(JsonObject answer, JsonObject request, string provider, int countedTokens)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(request);
        if ((answer["results"] ?? answer["data"]) is not JsonArray items)
        {
            return ProviderResult.Failure(new ProviderError(ProviderErrorClass.InternalServerError, 502,
                $"Provider '{provider}' answered the rerank without results"));
        }

        var documents = request["documents"] as JsonArray ?? [];
        var ranked = items
            .Select(i => (Index: Int(i?["index"]), Score: Double(i?["relevance_score"])))
            .Where(r => r.Index is { } index && index >= 0 && index < documents.Count && r.Score is not null)
            .OrderByDescending(r => r.Score)
            .ThenBy(r => r.Index)
            .Take(TopN(request) ?? int.MaxValue);
        var withDocuments = ReturnDocuments(request);
        var results = new JsonArray();
        foreach (var (index, score) in ranked)
        {
            var result = new JsonObject { ["index"] = index, ["relevance_score"] = score };
            if (withDocuments)
            {
                result["document"] = documents[index!.Value] is JsonObject original
                    ? original.DeepClone()
                    : new JsonObject { ["text"] = documents[index.Value]?.DeepClone() };
            }

            results.Add(result);
        }

        var tokens = Int(answer["usage"]?["total_tokens"]) ?? Int(answer["usage"]?["prompt_tokens"]) ??
                     Int(answer["meta"]?["tokens"]?["input_tokens"]) ?? Int(answer["meta"]?["billed_units"]?["total_tokens"]) ?? countedTokens;
        var searchUnits = Int(answer["meta"]?["billed_units"]?["search_units"]) ?? 1;
        var body = new JsonObject
        {
            ["id"] = answer["id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String ? id.GetValue<string>() : "rerank-" + Guid.NewGuid().ToString("N"),
            ["results"] = results,
            ["meta"] = new JsonObject
            {
                ["billed_units"] = new JsonObject { ["search_units"] = searchUnits, ["total_tokens"] = tokens },
                ["tokens"] = new JsonObject { ["input_tokens"] = tokens, ["output_tokens"] = 0 },
            },
        };
        return ProviderResult.Success(body, new TokenUsage { PromptTokens = tokens, CompletionTokens = 0 });
    }

    /// <summary>The search units a Cohere-shaped answer was billed.</summary>
    public static int SearchUnits(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Int(body["meta"]?["billed_units"]?["search_units"]) ?? 1;
    }

    private static int? Int(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i
        : node is JsonValue d && d.TryGetValue<double>(out var x) && x >= 0 && x <= int.MaxValue ? (int)x : null;

    private static double? Double(JsonNode? node) => node is JsonValue v && v.TryGetValue<double>(out var d) ? d
        : node is JsonValue s && s.TryGetValue<string>(out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
}
