using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Workers.Providers.OpenAi;

namespace Broker.Workers.Providers.Cohere;

/// <summary>Cohere's v2 API (<c>/v2/chat</c>, <c>/v2/embed</c>, Bearer key), behind the OpenAI shapes.</summary>
public sealed class CohereProvider(ProviderHttp http, TimeProvider timeProvider) : IChatProvider, IEmbeddingProvider
{
    public const string Name = "cohere";
    public const string DefaultBase = "https://api.cohere.com";

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(
            Name, Url(deployment, "chat"), CohereTranslator.ToCohereRequest(call.Request, call.ProviderModel), Headers(deployment),
            deployment.Timeout ?? OpenAiCompatibleProvider.DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (completion, usage) = CohereTranslator.ToOpenAiCompletion(body!, call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderResult.Success(completion, usage);
    }

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var payload = CohereTranslator.ToCohereRequest(call.Request, call.ProviderModel);
        payload["stream"] = true;
        var (response, error) = await http.PostStreamAsync(
            Name, Url(deployment, "chat"), payload, Headers(deployment),
            deployment.StreamTimeout ?? deployment.Timeout ?? OpenAiCompatibleProvider.DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderStream.Failed(error);
        }

        var translator = new CohereStreamTranslator(call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderStream.Of(ReadChunksAsync(response!, translator, cancellationToken));
    }

    public async Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(
            Name, Url(deployment, "embed"), CohereTranslator.ToEmbedRequest(call.Request, call.ProviderModel), Headers(deployment),
            deployment.Timeout ?? OpenAiCompatibleProvider.DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (embeddings, usage) = CohereTranslator.ToOpenAiEmbeddings(body!, call.ClientModel);
        return ProviderResult.Success(embeddings, usage);
    }

    /// <summary><c>{api_base}/v2/{operation}</c>; an api_base that already ends in <c>/v2</c> keeps it.</summary>
    public static Uri Url(ModelDeployment deployment, string operation)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var root = (deployment.ApiBase ?? DefaultBase).TrimEnd('/');
        return new Uri(root.EndsWith("/v2", StringComparison.Ordinal) ? $"{root}/{operation}" : $"{root}/v2/{operation}");
    }

    private static Action<HttpRequestHeaders> Headers(ModelDeployment deployment)
    {
        var apiKey = deployment.ApiKey?.Value;
        return h =>
        {
            if (!string.IsNullOrEmpty(apiKey))
            {
                h.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
        };
    }

    private static async IAsyncEnumerable<JsonObject> ReadChunksAsync(
        HttpResponseMessage response, CohereStreamTranslator translator, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (response)
        {
            await foreach (var (eventType, data) in ProviderHttp.ReadEventsAsync(response, Name, cancellationToken))
            {
                JsonObject? item;
                try
                {
                    item = JsonNode.Parse(data) as JsonObject;
                }
                catch (JsonException)
                {
                    continue;
                }

                if (item is null)
                {
                    continue;
                }

                foreach (var chunk in translator.Translate(eventType, item))
                {
                    yield return chunk;
                }

                if (translator.Ended)
                {
                    yield break;
                }
            }

            translator.Finish();
        }
    }
}
