using System.Collections.Frozen;

namespace Broker.Config.Loading;

/// <summary>Provider prefixes of <c>litellm_params.model</c> and each provider's conventional environment variables.</summary>
public static class Providers
{
    public const string OpenAi = "openai";
    public const string Azure = "azure";

    /// <summary>Known prefixes (lower case), in the order they are listed in messages.</summary>
    public static IReadOnlyList<string> Known { get; } =
    [
        "openai", "azure", "azure_ai", "anthropic", "groq", "gemini", "vertex_ai", "bedrock", "cohere", "cohere_chat",
        "huggingface", "replicate", "together_ai", "ollama", "ollama_chat", "hosted_vllm", "vllm", "mistral",
        "deepseek", "openrouter", "fireworks_ai", "perplexity", "xai", "text-completion-openai", "openai_like",
        "custom_openai", "litellm_proxy", "deepinfra", "cerebras", "nvidia_nim", "databricks", "sagemaker",
        "watsonx", "ai21", "lm_studio", "voyage", "jina_ai",
    ];

    private static readonly FrozenSet<string> KnownSet = Known.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Variables tried, in order, when a deployment has no api_key.</summary>
    private static readonly FrozenDictionary<string, string[]> ApiKeyVariables = new Dictionary<string, string[]>
    {
        ["openai"] = ["OPENAI_API_KEY"],
        ["text-completion-openai"] = ["OPENAI_API_KEY"],
        ["azure"] = ["AZURE_API_KEY"],
        ["azure_ai"] = ["AZURE_AI_API_KEY"],
        ["anthropic"] = ["ANTHROPIC_API_KEY"],
        ["groq"] = ["GROQ_API_KEY"],
        ["gemini"] = ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        ["cohere"] = ["COHERE_API_KEY"],
        ["cohere_chat"] = ["COHERE_API_KEY"],
        ["huggingface"] = ["HUGGINGFACE_API_KEY"],
        ["replicate"] = ["REPLICATE_API_KEY"],
        ["together_ai"] = ["TOGETHERAI_API_KEY", "TOGETHER_AI_API_KEY"],
        ["mistral"] = ["MISTRAL_API_KEY"],
        ["deepseek"] = ["DEEPSEEK_API_KEY"],
        ["openrouter"] = ["OPENROUTER_API_KEY"],
        ["fireworks_ai"] = ["FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"],
        ["perplexity"] = ["PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"],
        ["xai"] = ["XAI_API_KEY"],
        ["deepinfra"] = ["DEEPINFRA_API_KEY"],
        ["cerebras"] = ["CEREBRAS_API_KEY"],
        ["nvidia_nim"] = ["NVIDIA_NIM_API_KEY"],
        ["databricks"] = ["DATABRICKS_API_KEY"],
        ["ai21"] = ["AI21_API_KEY"],
        ["voyage"] = ["VOYAGE_API_KEY"],
        ["jina_ai"] = ["JINA_AI_API_KEY"],
        ["litellm_proxy"] = ["LITELLM_PROXY_API_KEY"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static bool IsKnown(string provider) => KnownSet.Contains(provider);

    /// <summary>The conventional api_key variables for a provider (empty when it has none, e.g. ollama, bedrock).</summary>
    public static IReadOnlyList<string> ApiKeyVariablesFor(string provider) =>
        ApiKeyVariables.TryGetValue(provider, out var names) ? names : [];
}
