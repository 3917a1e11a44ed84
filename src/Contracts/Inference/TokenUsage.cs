namespace Broker.Contracts.Inference;

public sealed record TokenUsage
{
    public required int PromptTokens { get; init; }

    public required int CompletionTokens { get; init; }

    /// <summary>Prompt tokens the provider read from its prompt cache (part of <see cref="PromptTokens"/>), charged at the cache-read price.</summary>
    public int CachedPromptTokens { get; init; }

    public int TotalTokens => PromptTokens + CompletionTokens;
}
