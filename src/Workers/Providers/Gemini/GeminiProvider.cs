using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Workers.Providers.OpenAi;

namespace Broker.Workers.Providers.Gemini;

/// <summary>Google's Gemini API (generativelanguage.googleapis.com, <c>x-goog-api-key</c>), behind the OpenAI shapes.</summary>
public sealed class GeminiProvider(ProviderHttp http, TimeProvider timeProvider) : IChatProvider, IEmbeddingProvider
{
    public const string Name = "gemini";
    public const string DefaultBase = "https://generativelanguage.googleapis.com";

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(
            Name, Url(deployment, call.ProviderModel, "generateContent"), GeminiTranslator.ToGeminiRequest(call.Request), Headers(deployment),
            deployment.Timeout ?? OpenAiCompatibleProvider.DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (completion, usage) = GeminiTranslator.ToOpenAiCompletion(body!, call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderResult.Success(completion, usage);
    }

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (response, error) = await http.PostStreamAsync(
            Name, Url(deployment, call.ProviderModel, "streamGenerateContent", "?alt=sse"), GeminiTranslator.ToGeminiRequest(call.Request),
            Headers(deployment), deployment.StreamTimeout ?? deployment.Timeout ?? OpenAiCompatibleProvider.DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderStream.Failed(error);
        }

        var translator = new GeminiStreamTranslator(call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderStream.Of(ReadChunksAsync(response!, translator, cancellationToken));
    }

    public async Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var model = ModelName(call.ProviderModel);
        var (body, _, error) = await http.PostJsonAsync(
            Name, Url(deployment, model, "batchEmbedContents"), GeminiTranslator.ToBatchEmbedRequest(call.Request, model), Headers(deployment),
            deployment.Timeout ?? OpenAiCompatibleProvider.DefaultTimeout, cancellationToken);
        return error is not null
            ? ProviderResult.Failure(error)
            : ProviderResult.Success(GeminiTranslator.ToOpenAiEmbeddings(body!, call.ClientModel), new() { PromptTokens = 0, CompletionTokens = 0 });
    }

    /// <summary><c>{api_base}/v1beta/models/{model}:{method}</c>; an api_base that already ends in a version keeps it.</summary>
    public static Uri Url(ModelDeployment deployment, string model, string method, string query = "")
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var root = (deployment.ApiBase ?? DefaultBase).TrimEnd('/');
        var last = root[(root.LastIndexOf('/') + 1)..];
        if (!last.StartsWith("v1", StringComparison.Ordinal))
        {
            root += "/v1beta";
        }

        return new Uri($"{root}/models/{Uri.EscapeDataString(ModelName(model))}:{method}{query}");
    }

    private static string ModelName(string model) => model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;

    private static Action<HttpRequestHeaders> Headers(ModelDeployment deployment)
    {
        var apiKey = deployment.ApiKey?.Value;
        return h =>
        {
            if (!string.IsNullOrEmpty(apiKey))
            {
                h.Add("x-goog-api-key", apiKey);
            }
        };
    }

    private static async IAsyncEnumerable<JsonObject> ReadChunksAsync(
        HttpResponseMessage response, GeminiStreamTranslator translator, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (response)
        {
            await foreach (var (_, data) in ProviderHttp.ReadEventsAsync(response, Name, cancellationToken))
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

                foreach (var chunk in translator.Translate(item))
                {
                    yield return chunk;
                }
            }

            foreach (var chunk in translator.Finish())
            {
                yield return chunk;
            }
        }
    }
}
