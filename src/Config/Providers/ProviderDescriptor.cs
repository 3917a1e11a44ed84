namespace Broker.Config.Providers;

/// <summary>
/// What the gateway knows about one provider prefix of <c>litellm_params.model</c> without calling it: its names, where
/// its key and API live by default, and which OpenAI request parameters it accepts. The config loader reads it; the
/// Workers' implementation registered under the same <see cref="Name"/> calls the API.
/// </summary>
public sealed record ProviderDescriptor
{
    /// <summary>The prefix, lower case (<c>gemini</c> in <c>gemini/gemini-2.0-flash</c>); the key implementations are registered under.</summary>
    public required string Name { get; init; }

    /// <summary>Other prefixes meaning the same provider (<c>cohere_chat</c> for <c>cohere</c>).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Environment variables tried, in order, when a deployment has no api_key.</summary>
    public IReadOnlyList<string> ApiKeyVariables { get; init; } = [];

    /// <summary>The API root used when a deployment has no api_base; null when the provider has no public default.</summary>
    public string? DefaultApiBase { get; init; }

    /// <summary>The API speaks OpenAI's chat completions and embeddings: the shared OpenAI-compatible implementation serves it.</summary>
    public bool OpenAiCompatible { get; init; }

    /// <summary>
    /// The vendor also serves an OpenAI-compatible endpoint: an api_base ending in <c>/openai</c> or containing
    /// <c>/compatibility</c> is called as OpenAI-compatible instead of through the native implementation.
    /// </summary>
    public bool HasOpenAiCompatibleEndpoint { get; init; }

    /// <summary>
    /// The OpenAI chat parameters (of <see cref="OpenAiParams.Chat"/>) the provider accepts; null = all of them.
    /// With <c>drop_params</c> the others are dropped, without it a request carrying one is refused (LiteLLM's
    /// UnsupportedParamsError).
    /// </summary>
    public IReadOnlySet<string>? SupportedParams { get; init; }

    /// <summary>Every prefix of this provider: <see cref="Name"/> then <see cref="Aliases"/>.</summary>
    public IEnumerable<string> Prefixes => Aliases.Prepend(Name);

    /// <summary>Whether <paramref name="param"/> may go to this provider (parameters outside OpenAI's list always may).</summary>
    public bool Supports(string param) =>
        SupportedParams is null || SupportedParams.Contains(param) || !OpenAiParams.Chat.Contains(param);

    /// <summary>Whether <paramref name="apiBase"/> is this vendor's OpenAI-compatible endpoint.</summary>
    public bool IsOpenAiCompatibleBase(string? apiBase) =>
        HasOpenAiCompatibleEndpoint && apiBase is not null &&
        (apiBase.TrimEnd('/').EndsWith("/openai", StringComparison.Ordinal) || apiBase.Contains("/compatibility", StringComparison.Ordinal));

    public override string ToString() => Name;
}
