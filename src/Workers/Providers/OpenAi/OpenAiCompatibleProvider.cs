using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.OpenAi;

/// <summary>
/// OpenAI's chat completions API and everything that speaks it (every provider whose descriptor says
/// <see cref="ProviderDescriptor.OpenAiCompatible"/>, and any api_base), plus Azure OpenAI (deployment URL,
/// api-version, api-key header).
/// </summary>
public sealed class OpenAiCompatibleProvider(ProviderHttp http) : IProvider, IEmbeddingProvider, IRerankProvider
{
    public const string DefaultAzureApiVersion = "2024-10-21";

    /// <summary>LiteLLM's default per-call timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TranslatingProvider.DefaultTimeout;

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(
            deployment.Provider, Url(call), call.Request, Headers(deployment), deployment.Timeout ?? DefaultTimeout, cancellationToken);
        return error is not null ? ProviderResult.Failure(error) : ProviderResult.Success(body!, ReadUsage(body!));
    }

    public async Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(
            deployment.Provider, Url(call, "embeddings"), call.Request, Headers(deployment), deployment.Timeout ?? DefaultTimeout, cancellationToken);
        return error is not null ? ProviderResult.Failure(error) : ProviderResult.Success(body!, ReadUsage(body!));
    }

    /// <summary>
    /// <c>{api_base}/rerank</c> in the Cohere/Jina shape that vLLM, Jina and other OpenAI-compatible servers take; the
    /// documents go as their texts and come back from the client's own request.
    /// </summary>
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
            payload["top_n"] = topN;
        }

        var (body, _, error) = await http.PostJsonAsync(
            deployment.Provider, Url(call, "rerank"), payload, Headers(deployment), deployment.Timeout ?? DefaultTimeout, cancellationToken);
        return error is not null
            ? ProviderResult.Failure(error)
            : RerankShapes.ToCohere(body!, call.Request, deployment.Provider, RerankShapes.CountTokens(call.Request, cancellationToken));
    }

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var payload = call.Request.DeepClone().AsObject();
        payload["stream"] = true;
        payload["stream_options"] = new JsonObject { ["include_usage"] = true };
        var (response, error) = await http.PostStreamAsync(
            deployment.Provider, Url(call), payload, Headers(deployment),
            deployment.StreamTimeout ?? deployment.Timeout ?? DefaultTimeout, cancellationToken);
        return error is not null ? ProviderStream.Failed(error) : ProviderStream.Of(ReadChunksAsync(response!, deployment.Provider, cancellationToken));
    }

    private static async IAsyncEnumerable<JsonObject> ReadChunksAsync(
        HttpResponseMessage response, string provider, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (response)
        {
            await foreach (var (_, data) in ProviderHttp.ReadEventsAsync(response, provider, cancellationToken))
            {
                if (data == "[DONE]")
                {
                    yield break;
                }

                JsonObject? chunk;
                try
                {
                    chunk = JsonNode.Parse(data) as JsonObject;
                }
                catch (JsonException)
                {
                    continue;
                }

                if (chunk is null)
                {
                    continue;
                }

                if (chunk["error"] is JsonNode)
                {
                    throw new ProviderStreamException(ProviderErrorClassifier.FromHttp(provider, 500, data, null));
                }

                yield return chunk;
            }
        }
    }

    private static Uri Url(ProviderCall call, string operation = "chat/completions") =>
        call.Deployment.Provider == BuiltInProviders.Azure.Name
            ? AzureUrl(call, operation)
            : new Uri(Base(call.Deployment.Provider, call.Deployment.ApiBase) + "/" + operation);

    private static Action<HttpRequestHeaders> Headers(ModelDeployment deployment)
    {
        var apiKey = deployment.ApiKey?.Value;
        var isAzure = deployment.Provider == BuiltInProviders.Azure.Name;
        return h =>
        {
            if (string.IsNullOrEmpty(apiKey))
            {
                return;
            }

            if (isAzure)
            {
                h.Add("api-key", apiKey);
            }
            else
            {
                h.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
        };
    }

    public static TokenUsage ReadUsage(JsonObject completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var usage = completion["usage"] as JsonObject;
        return new TokenUsage
        {
            PromptTokens = Int(usage?["prompt_tokens"]),
            CompletionTokens = Int(usage?["completion_tokens"]),
            CachedPromptTokens = Int(usage?["prompt_tokens_details"]?["cached_tokens"]),
        };
    }

    private static int Int(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<int>(out var i) ? i : 0;

    /// <summary>The deployment's api_base, else its provider's default base, else OpenAI's.</summary>
    private static string Base(string provider, string? apiBase) =>
        (apiBase ?? ProviderCatalog.Find(provider)?.DefaultApiBase ?? BuiltInProviders.OpenAi.DefaultApiBase!).TrimEnd('/');

    private static Uri AzureUrl(ProviderCall call, string operation)
    {
        var d = call.Deployment;
        var root = (d.ApiBase ?? "").TrimEnd('/');
        var version = Uri.EscapeDataString(d.ApiVersion ?? DefaultAzureApiVersion);
        if (root.Contains("/openai/deployments/", StringComparison.Ordinal))
        {
            return new Uri($"{root}/{operation}?api-version={version}");
        }

        return new Uri($"{root}/openai/deployments/{Uri.EscapeDataString(call.ProviderModel)}/{operation}?api-version={version}");
    }
}
