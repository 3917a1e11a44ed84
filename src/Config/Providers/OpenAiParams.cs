using System.Collections.Frozen;

namespace Broker.Config.Providers;

/// <summary>OpenAI's chat completion request parameters, the set a provider's <see cref="ProviderDescriptor.SupportedParams"/> is drawn from.</summary>
public static class OpenAiParams
{
    /// <summary>
    /// The optional parameters of OpenAI's chat completions (not <c>model</c> or <c>messages</c>). A parameter outside
    /// this set is a provider-specific extra and goes through as it is.
    /// </summary>
    public static FrozenSet<string> Chat { get; } = new[]
    {
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs", "max_completion_tokens",
        "max_tokens", "modalities", "n", "parallel_tool_calls", "prediction", "presence_penalty", "reasoning_effort",
        "response_format", "seed", "service_tier", "stop", "stream", "stream_options", "temperature", "tool_choice",
        "tools", "top_logprobs", "top_p", "user", "web_search_options",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>A set of parameter names (for descriptors).</summary>
    public static FrozenSet<string> Set(params string[] names) => names.ToFrozenSet(StringComparer.Ordinal);
}
