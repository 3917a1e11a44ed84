using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.Anthropic;

/// <summary>
/// Anthropic Messages requests (from <c>/v1/messages</c>) sent to an Anthropic deployment as they are, so that
/// nothing is lost in translation (cache_control, thinking, betas): the answer is Anthropic's message JSON and a
/// stream is Anthropic's events, each forwarded as its <c>data</c> object (whose <c>type</c> names the event).
/// </summary>
public sealed class AnthropicPassThrough(ProviderHttp http) : IChatProvider
{
    public const string Format = "anthropic";

    /// <summary>Keys the gateway reads itself (LiteLLM's request controls), never sent on; Anthropic's own stay.</summary>
    private static readonly string[] GatewayOnlyKeys =
    [
        "cache", "caching", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "num_retries",
        "mock_testing_fallbacks", "mock_timeout", "mock_response", "tags", "guardrails",
    ];

    /// <summary>The client's body with the deployment's model; <c>stream</c> is set by the call.</summary>
    public static JsonObject Prepare(JsonObject clientRequest, string providerModel)
    {
        ArgumentNullException.ThrowIfNull(clientRequest);
        foreach (var key in GatewayOnlyKeys)
        {
            clientRequest.Remove(key);
        }

        clientRequest["model"] = providerModel;
        clientRequest.Remove("stream");
        return clientRequest;
    }

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var (body, _, error) = await http.PostJsonAsync(
            "anthropic", AnthropicProvider.Url(deployment), call.Request, AnthropicProvider.Headers(deployment),
            deployment.Timeout ?? TimeSpan.FromMinutes(10), cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var usage = body!["usage"] as JsonObject;
        return ProviderResult.Success(body, new TokenUsage { PromptTokens = InputTokens(usage), CompletionTokens = Int(usage?["output_tokens"]) });
    }

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var payload = call.Request.DeepClone().AsObject();
        payload["stream"] = true;
        var (response, error) = await http.PostStreamAsync(
            "anthropic", AnthropicProvider.Url(deployment), payload, AnthropicProvider.Headers(deployment),
            deployment.StreamTimeout ?? deployment.Timeout ?? TimeSpan.FromMinutes(10), cancellationToken);
        return error is not null ? ProviderStream.Failed(error) : ProviderStream.Of(EventsAsync(response!, cancellationToken));
    }

    /// <summary>Usage carried by Anthropic stream events: input in message_start, output in message_delta.</summary>
    public static (int? Input, int? Output) UsageOf(JsonObject streamEvent)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        return streamEvent["type"]?.GetValue<string>() switch
        {
            "message_start" => (InputTokens(streamEvent["message"]?["usage"] as JsonObject), null),
            "message_delta" => (null, Int(streamEvent["usage"]?["output_tokens"])),
            _ => (null, null),
        };
    }

    private static async IAsyncEnumerable<JsonObject> EventsAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (response)
        {
            await foreach (var (_, data) in ProviderHttp.ReadEventsAsync(response, "anthropic", cancellationToken))
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

                if (item["type"]?.GetValue<string>() == "error")
                {
                    throw new ProviderStreamException(ProviderErrorClassifier.FromHttp("anthropic", 500, data, null));
                }

                yield return item;
            }
        }
    }

    private static int InputTokens(JsonObject? usage) =>
        Int(usage?["input_tokens"]) + Int(usage?["cache_read_input_tokens"]) + Int(usage?["cache_creation_input_tokens"]);

    private static int Int(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i : 0;
}
