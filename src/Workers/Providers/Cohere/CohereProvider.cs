using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.Cohere;

/// <summary>Cohere's v2 API (<c>/v2/chat</c>, <c>/v2/embed</c>, Bearer key), behind the OpenAI shapes.</summary>
public sealed class CohereProvider(ProviderHttp http, TimeProvider timeProvider) : TranslatingProvider(http, timeProvider), IEmbeddingProvider, IRerankProvider
{
    public static string DefaultBase => BuiltInProviders.Cohere.DefaultApiBase!;

    protected override string Name => BuiltInProviders.Cohere.Name;

    public Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return PostAsync(call, Url(call.Deployment, "embed"), CohereTranslator.ToEmbedRequest(call.Request, call.ProviderModel),
            body => CohereTranslator.ToOpenAiEmbeddings(body, call.ClientModel), cancellationToken);
    }

    /// <summary>
    /// Cohere's rerank: <c>/v2/rerank</c>, or <c>/v1/rerank</c> when api_version is <c>v1</c> or api_base ends in <c>/v1</c>.
    /// The documents go as their texts and come back from the client's own request.
    /// </summary>
    public async Task<ProviderResult> RerankAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var root = (deployment.ApiBase ?? DefaultBase).TrimEnd('/');
        var v1 = root.EndsWith("/v1", StringComparison.Ordinal) || string.Equals(deployment.ApiVersion, "v1", StringComparison.OrdinalIgnoreCase);
        var url = !v1 ? Url(deployment, "rerank")
            : new Uri(root.EndsWith("/v1", StringComparison.Ordinal) ? root + "/rerank" : root + "/v1/rerank");
        var payload = new JsonObject
        {
            ["model"] = call.ProviderModel,
            ["query"] = call.Request["query"]?.DeepClone(),
            ["documents"] = new JsonArray([.. RerankShapes.Texts(call.Request).Select(t => (JsonNode?)JsonValue.Create(t))]),
        };
        if (RerankShapes.TopN(call.Request) is { } topN)
        {
            payload["top_n"] = topN;
        }

        foreach (var name in new[] { v1 ? "max_chunks_per_doc" : "max_tokens_per_doc" })
        {
            if (call.Request[name] is { } value)
            {
                payload[name] = value.DeepClone();
            }
        }

        var counted = RerankShapes.CountTokens(call.Request, cancellationToken);
        var answer = await PostAsync(call, url, payload, body => (body, new TokenUsage { PromptTokens = counted, CompletionTokens = 0 }), cancellationToken);
        return answer.Succeeded ? RerankShapes.ToCohere(answer.Completion!, call.Request, Name, counted) : answer;
    }

    /// <summary><c>{api_base}/v2/{operation}</c>; an api_base that already ends in <c>/v2</c> keeps it.</summary>
    public static Uri Url(ModelDeployment deployment, string operation)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var root = (deployment.ApiBase ?? DefaultBase).TrimEnd('/');
        return new Uri(root.EndsWith("/v2", StringComparison.Ordinal) ? $"{root}/{operation}" : $"{root}/v2/{operation}");
    }

    protected override Uri ChatUrl(ProviderCall call, bool stream) => Url(call.Deployment, "chat");

    protected override JsonObject ToRequest(ProviderCall call, bool stream)
    {
        var payload = CohereTranslator.ToCohereRequest(call.Request, call.ProviderModel);
        if (stream)
        {
            payload["stream"] = true;
        }

        return payload;
    }

    protected override (JsonObject Completion, TokenUsage Usage) ToCompletion(JsonObject body, ProviderCall call, long created) =>
        CohereTranslator.ToOpenAiCompletion(body, call.ClientModel, created);

    protected override IStreamTranslator StreamTranslator(ProviderCall call, long created) => new CohereStreamTranslator(call.ClientModel, created);

    protected override void SetHeaders(HttpRequestHeaders headers, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (!string.IsNullOrEmpty(apiKey))
        {
            headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
    }
}
