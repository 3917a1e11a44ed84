using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Broker.Config.Providers;
using Broker.Workers.Providers.OpenAi;

namespace Broker.Workers.Providers.Voyage;

/// <summary>
/// Voyage AI: its rerank API (<c>{api_base}/rerank</c> with <c>top_k</c>, answering <c>data</c>) behind Cohere's rerank
/// shape; chat and embeddings go the OpenAI-compatible way to the same base.
/// </summary>
public sealed class VoyageProvider(ProviderHttp http, OpenAiCompatibleProvider openAi) : IProvider, IEmbeddingProvider, IRerankProvider
{
    public static string DefaultBase => BuiltInProviders.Voyage.DefaultApiBase!;

    public Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken) => openAi.CompleteAsync(call, cancellationToken);

    public Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken) => openAi.StreamAsync(call, cancellationToken);

    public Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken) => openAi.EmbedAsync(call, cancellationToken);

    public async Task<ProviderResult> RerankAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var payload = new JsonObject
        {
            ["model"] = call.ProviderModel,
            ["query"] = call.Request["query"]?.DeepClone(),
            ["documents"] = new JsonArray([.. RerankShapes.Texts(call.Request).Select(t => (JsonNode?)JsonValue.Create(t))]),
        };
        if (RerankShapes.TopN(call.Request) is { } topN)
        {
            payload["top_k"] = topN;
        }

        var apiKey = deployment.ApiKey?.Value;
        var url = new Uri((deployment.ApiBase ?? DefaultBase).TrimEnd('/') + "/rerank");
        var (body, _, error) = await http.PostJsonAsync(deployment.Provider, url, payload, h =>
        {
            if (!string.IsNullOrEmpty(apiKey))
            {
                h.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
        }, deployment.Timeout ?? OpenAiCompatibleProvider.DefaultTimeout, cancellationToken);
        return error is not null
            ? ProviderResult.Failure(error)
            : RerankShapes.ToCohere(body!, call.Request, deployment.Provider, RerankShapes.CountTokens(call.Request, cancellationToken));
    }
}
