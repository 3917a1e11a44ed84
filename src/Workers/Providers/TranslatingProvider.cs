using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers;

/// <summary>
/// A provider with its own JSON API over HTTP and server-sent events (Anthropic, Gemini, Cohere): each call is the
/// OpenAI request translated into the vendor's body, sent, and the answer or its event stream translated back. A
/// subclass says only what differs: the URL, the key header, and the translations.
/// </summary>
public abstract class TranslatingProvider(ProviderHttp http, TimeProvider timeProvider) : IProvider
{
    /// <summary>LiteLLM's default per-call timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The provider's name in error messages and classification.</summary>
    protected abstract string Name { get; }

    /// <summary>The chat URL, for a whole answer or for a stream.</summary>
    protected abstract Uri ChatUrl(ProviderCall call, bool stream);

    /// <summary>The vendor's chat request body (with its stream flag when <paramref name="stream"/>).</summary>
    protected abstract JsonObject ToRequest(ProviderCall call, bool stream);

    /// <summary>The vendor's answer → an OpenAI chat completion and its usage.</summary>
    protected abstract (JsonObject Completion, TokenUsage Usage) ToCompletion(JsonObject body, ProviderCall call, long created);

    /// <summary>A translator for one streamed answer.</summary>
    protected abstract IStreamTranslator StreamTranslator(ProviderCall call, long created);

    /// <summary>Sets the key (and any fixed) headers for a call with <paramref name="apiKey"/> (null or empty: none configured).</summary>
    protected abstract void SetHeaders(HttpRequestHeaders headers, string? apiKey);

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(
            Name, ChatUrl(call, stream: false), ToRequest(call, stream: false), Headers(deployment), deployment.Timeout ?? DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (completion, usage) = ToCompletion(body!, call, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderResult.Success(completion, usage);
    }

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (response, error) = await http.PostStreamAsync(
            Name, ChatUrl(call, stream: true), ToRequest(call, stream: true), Headers(deployment),
            deployment.StreamTimeout ?? deployment.Timeout ?? DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderStream.Failed(error);
        }

        var translator = StreamTranslator(call, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderStream.Of(ReadChunksAsync(response!, translator, cancellationToken));
    }

    /// <summary>A JSON POST of <paramref name="payload"/> to <paramref name="url"/> whose answer <paramref name="translate"/> turns into OpenAI's shape.</summary>
    protected async Task<ProviderResult> PostAsync(
        ProviderCall call, Uri url, JsonObject payload, Func<JsonObject, (JsonObject Body, TokenUsage Usage)> translate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(translate);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(Name, url, payload, Headers(deployment), deployment.Timeout ?? DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (result, usage) = translate(body!);
        return ProviderResult.Success(result, usage);
    }

    private Action<HttpRequestHeaders> Headers(ModelDeployment deployment)
    {
        var apiKey = deployment.ApiKey?.Value;
        return h => SetHeaders(h, apiKey);
    }

    private async IAsyncEnumerable<JsonObject> ReadChunksAsync(
        HttpResponseMessage response, IStreamTranslator translator, [EnumeratorCancellation] CancellationToken cancellationToken)
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

            foreach (var chunk in translator.Finish())
            {
                yield return chunk;
            }
        }
    }
}
