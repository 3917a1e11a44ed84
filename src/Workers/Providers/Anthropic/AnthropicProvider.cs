using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Workers.Providers.Anthropic;

/// <summary>Anthropic's Messages API, behind the OpenAI chat completions shape.</summary>
public sealed class AnthropicProvider(ProviderHttp http, TimeProvider timeProvider) : IChatProvider
{
    public const string DefaultBase = "https://api.anthropic.com";
    public const string ApiVersion = "2023-06-01";

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var payload = AnthropicTranslator.ToAnthropicRequest(call.Request, call.ProviderModel);
        var (body, _, error) = await http.PostJsonAsync(
            "anthropic", Url(deployment), payload, Headers(deployment), deployment.Timeout ?? TimeSpan.FromMinutes(10), cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (completion, usage) = AnthropicTranslator.ToOpenAiCompletion(body!, call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderResult.Success(completion, usage);
    }

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var payload = AnthropicTranslator.ToAnthropicRequest(call.Request, call.ProviderModel);
        payload["stream"] = true;
        var (response, error) = await http.PostStreamAsync(
            "anthropic", Url(deployment), payload, Headers(deployment),
            deployment.StreamTimeout ?? deployment.Timeout ?? TimeSpan.FromMinutes(10), cancellationToken);
        if (error is not null)
        {
            return ProviderStream.Failed(error);
        }

        var translator = new AnthropicStreamTranslator(call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderStream.Of(ReadChunksAsync(response!, translator, cancellationToken));
    }

    private static async IAsyncEnumerable<JsonObject> ReadChunksAsync(
        HttpResponseMessage response, AnthropicStreamTranslator translator, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (response)
        {
            await foreach (var (eventType, data) in ProviderHttp.ReadEventsAsync(response, "anthropic", cancellationToken))
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
            }
        }
    }

    internal static Uri Url(ModelDeployment deployment)
    {
        var root = (deployment.ApiBase ?? DefaultBase).TrimEnd('/');
        return new Uri(root.EndsWith("/v1", StringComparison.Ordinal) ? root + "/messages" : root + "/v1/messages");
    }

    internal static Action<HttpRequestHeaders> Headers(ModelDeployment deployment)
    {
        var apiKey = deployment.ApiKey?.Value;
        return h =>
        {
            h.Add("anthropic-version", ApiVersion);
            if (!string.IsNullOrEmpty(apiKey))
            {
                h.Add("x-api-key", apiKey);
            }
        };
    }
}
