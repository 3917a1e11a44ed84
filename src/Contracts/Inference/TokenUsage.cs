namespace Broker.Contracts.Inference;

public sealed record TokenUsage
{
    public required int PromptTokens { get; init; }

    public required int CompletionTokens { get; init; }

    public int TotalTokens => PromptTokens + CompletionTokens;
}
