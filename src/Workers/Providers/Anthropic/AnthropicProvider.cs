using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.Anthropic;

/// <summary>Anthropic's Messages API, behind the OpenAI chat completions shape.</summary>
public sealed class AnthropicProvider(ProviderHttp http, TimeProvider timeProvider) : TranslatingProvider(http, timeProvider)
{
    public const string ApiVersion = "2023-06-01";

    public static string DefaultBase => BuiltInProviders.Anthropic.DefaultApiBase!;

    protected override string Name => BuiltInProviders.Anthropic.Name;

    internal static Uri Url(ModelDeployment deployment)
    {
        var root = (deployment.ApiBase ?? DefaultBase).TrimEnd('/');
        return new Uri(root.EndsWith("/v1", StringComparison.Ordinal) ? root + "/messages" : root + "/v1/messages");
    }

    internal static Action<HttpRequestHeaders> Headers(ModelDeployment deployment)
    {
        var apiKey = deployment.ApiKey?.Value;
        return h => AddHeaders(h, apiKey);
    }

    protected override Uri ChatUrl(ProviderCall call, bool stream) => Url(call.Deployment);

    protected override JsonObject ToRequest(ProviderCall call, bool stream)
    {
        var payload = AnthropicTranslator.ToAnthropicRequest(call.Request, call.ProviderModel);
        if (stream)
        {
            payload["stream"] = true;
        }

        return payload;
    }

    protected override (JsonObject Completion, TokenUsage Usage) ToCompletion(JsonObject body, ProviderCall call, long created) =>
        AnthropicTranslator.ToOpenAiCompletion(body, call.ClientModel, created);

    protected override IStreamTranslator StreamTranslator(ProviderCall call, long created) => new AnthropicStreamTranslator(call.ClientModel, created);

    protected override void SetHeaders(HttpRequestHeaders headers, string? apiKey) => AddHeaders(headers, apiKey);

    private static void AddHeaders(HttpRequestHeaders headers, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(headers);
        headers.Add("anthropic-version", ApiVersion);
        if (!string.IsNullOrEmpty(apiKey))
        {
            headers.Add("x-api-key", apiKey);
        }
    }
}
