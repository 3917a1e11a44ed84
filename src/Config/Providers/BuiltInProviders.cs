namespace Broker.Config.Providers;

/// <summary>
/// The providers Broker knows out of the box, one descriptor each, in the order they are listed in messages. A provider
/// with its own API also has an implementation registered under the same name in the Workers
/// (<c>Broker.Workers.Providers.ProviderRegistry</c>); the others speak OpenAI's API, or are called as OpenAI-compatible
/// when the deployment sets api_base.
/// </summary>
public static class BuiltInProviders
{
    public static ProviderDescriptor OpenAi { get; } = Compatible("openai", "https://api.openai.com/v1", "OPENAI_API_KEY");

    /// <summary>Azure OpenAI: the deployment URL, api-version and <c>api-key</c> header; api_base (or AZURE_API_BASE) is required.</summary>
    public static ProviderDescriptor Azure { get; } = Compatible("azure", null, "AZURE_API_KEY");

    public static ProviderDescriptor Anthropic { get; } = new()
    {
        Name = "anthropic",
        ApiKeyVariables = ["ANTHROPIC_API_KEY"],
        DefaultApiBase = "https://api.anthropic.com",
        SupportedParams = OpenAiParams.Set(
            "max_completion_tokens", "max_tokens", "parallel_tool_calls", "reasoning_effort", "response_format", "stop", "stream",
            "stream_options", "temperature", "tool_choice", "tools", "top_p", "user"),
    };

    public static ProviderDescriptor Gemini { get; } = new()
    {
        Name = "gemini",
        ApiKeyVariables = ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        DefaultApiBase = "https://generativelanguage.googleapis.com",
        HasOpenAiCompatibleEndpoint = true,
        SupportedParams = OpenAiParams.Set(
            "frequency_penalty", "max_completion_tokens", "max_tokens", "n", "parallel_tool_calls", "presence_penalty", "reasoning_effort",
            "response_format", "seed", "stop", "stream", "stream_options", "temperature", "tool_choice", "tools", "top_p"),
    };

    public static ProviderDescriptor Cohere { get; } = new()
    {
        Name = "cohere",
        Aliases = ["cohere_chat"],
        ApiKeyVariables = ["COHERE_API_KEY"],
        DefaultApiBase = "https://api.cohere.com",
        HasOpenAiCompatibleEndpoint = true,
        SupportedParams = OpenAiParams.Set(
            "frequency_penalty", "max_completion_tokens", "max_tokens", "presence_penalty", "response_format", "seed", "stop", "stream",
            "stream_options", "temperature", "tool_choice", "tools", "top_p"),
    };

    /// <summary>AWS Bedrock's Converse API, signed with SigV4 (aws_* litellm_params or the AWS environment).</summary>
    public static ProviderDescriptor Bedrock { get; } = new()
    {
        Name = "bedrock",
        SupportedParams = OpenAiParams.Set(
            "max_completion_tokens", "max_tokens", "stop", "stream", "stream_options", "temperature", "tool_choice", "tools", "top_p"),
    };

    /// <summary>Voyage AI: its own rerank API (<c>top_k</c>, <c>data</c>); embeddings in OpenAI's shape at its default base.</summary>
    public static ProviderDescriptor Voyage { get; } = new()
    {
        Name = "voyage",
        ApiKeyVariables = ["VOYAGE_API_KEY"],
        DefaultApiBase = "https://api.voyageai.com/v1",
    };

    /// <summary>Every built-in provider.</summary>
    public static IReadOnlyList<ProviderDescriptor> All { get; } =
    [
        OpenAi,
        Azure,
        Compatible("azure_ai", null, "AZURE_AI_API_KEY"),
        Anthropic,
        Compatible("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        Gemini,
        Other("vertex_ai"),
        Bedrock,
        Cohere,
        Other("huggingface", "HUGGINGFACE_API_KEY"),
        Other("replicate", "REPLICATE_API_KEY"),
        Compatible("together_ai", "https://api.together.xyz/v1", "TOGETHERAI_API_KEY", "TOGETHER_AI_API_KEY"),
        Compatible("ollama", "http://localhost:11434/v1"),
        Compatible("ollama_chat", "http://localhost:11434/v1"),
        Compatible("hosted_vllm", "http://localhost:8000/v1"),
        Compatible("vllm", "http://localhost:8000/v1"),
        Compatible("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        Compatible("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        Compatible("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        Compatible("fireworks_ai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"),
        Compatible("perplexity", "https://api.perplexity.ai", "PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"),
        Compatible("xai", "https://api.x.ai/v1", "XAI_API_KEY"),
        Other("text-completion-openai", "OPENAI_API_KEY"),
        Compatible("openai_like", null),
        Other("custom_openai"),
        Other("litellm_proxy", "LITELLM_PROXY_API_KEY"),
        Compatible("deepinfra", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"),
        Compatible("cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
        Compatible("nvidia_nim", "https://integrate.api.nvidia.com/v1", "NVIDIA_NIM_API_KEY"),
        Other("databricks", "DATABRICKS_API_KEY"),
        Other("sagemaker"),
        Other("watsonx"),
        Other("ai21", "AI21_API_KEY"),
        Compatible("lm_studio", "http://localhost:1234/v1"),
        Voyage,
        // Jina's embeddings and rerank speak the OpenAI-compatible shapes (rerank: Cohere's, at {api_base}/rerank)
        Compatible("jina_ai", "https://api.jina.ai/v1", "JINA_AI_API_KEY"),
    ];

    /// <summary>A provider speaking OpenAI's API at <paramref name="defaultBase"/> (null: the deployment's api_base, else OpenAI's).</summary>
    private static ProviderDescriptor Compatible(string name, string? defaultBase, params string[] apiKeyVariables) => new()
    {
        Name = name,
        ApiKeyVariables = apiKeyVariables,
        DefaultApiBase = defaultBase,
        OpenAiCompatible = true,
    };

    /// <summary>A known provider without an implementation here: callable only through an OpenAI-compatible api_base.</summary>
    private static ProviderDescriptor Other(string name, params string[] apiKeyVariables) => new()
    {
        Name = name,
        ApiKeyVariables = apiKeyVariables,
    };
}
