using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.Gemini;

/// <summary>Google's Gemini API (generativelanguage.googleapis.com, <c>x-goog-api-key</c>), behind the OpenAI shapes.</summary>
public sealed class GeminiProvider(ProviderHttp http, TimeProvider timeProvider) : TranslatingProvider(http, timeProvider), IEmbeddingProvider
{
    public static string DefaultBase => BuiltInProviders.Gemini.DefaultApiBase!;

    protected override string Name => BuiltInProviders.Gemini.Name;

    public Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var model = ModelName(call.ProviderModel);
        return PostAsync(call, Url(call.Deployment, model, "batchEmbedContents"), GeminiTranslator.ToBatchEmbedRequest(call.Request, model),
            body => (GeminiTranslator.ToOpenAiEmbeddings(body, call.ClientModel), new TokenUsage { PromptTokens = 0, CompletionTokens = 0 }),
            cancellationToken);
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

    protected override Uri ChatUrl(ProviderCall call, bool stream) =>
        stream ? Url(call.Deployment, call.ProviderModel, "streamGenerateContent", "?alt=sse") : Url(call.Deployment, call.ProviderModel, "generateContent");

    protected override JsonObject ToRequest(ProviderCall call, bool stream) => GeminiTranslator.ToGeminiRequest(call.Request);

    protected override (JsonObject Completion, TokenUsage Usage) ToCompletion(JsonObject body, ProviderCall call, long created) =>
        GeminiTranslator.ToOpenAiCompletion(body, call.ClientModel, created);

    protected override IStreamTranslator StreamTranslator(ProviderCall call, long created) => new GeminiStreamTranslator(call.ClientModel, created);

    protected override void SetHeaders(HttpRequestHeaders headers, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (!string.IsNullOrEmpty(apiKey))
        {
            headers.Add("x-goog-api-key", apiKey);
        }
    }

    private static string ModelName(string model) => model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;
}
