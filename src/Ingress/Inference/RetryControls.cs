using System.Text.Json.Nodes;

namespace Broker.Ingress.Inference;

/// <summary>
/// LiteLLM's retry and fallback keys of a request body, which the workers read from the chat body they run. An
/// endpoint that translates its body into a chat body carries them over, so the fallbacks the key check narrowed to
/// the caller's models are the ones that apply (without them, the configured fallbacks would).
/// </summary>
public static class RetryControls
{
    public static readonly IReadOnlyList<string> Names =
        ["num_retries", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "mock_testing_fallbacks"];

    /// <summary>Copies the keys <paramref name="from"/> has into <paramref name="to"/>.</summary>
    public static void Copy(JsonObject from, JsonObject to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        foreach (var name in Names)
        {
            if (from[name] is { } value)
            {
                to[name] = value.DeepClone();
            }
        }
    }
}
