using System.Text.Json.Nodes;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers;

/// <summary>Outcome of one provider call: an OpenAI-shaped chat completion with usage, or a classified error.</summary>
public sealed record ProviderResult
{
    public JsonObject? Completion { get; private init; }

    public TokenUsage Usage { get; private init; } = new() { PromptTokens = 0, CompletionTokens = 0 };

    public ProviderError? Error { get; private init; }

    public bool Succeeded => Error is null;

    public static ProviderResult Success(JsonObject completion, TokenUsage usage) => new() { Completion = completion, Usage = usage };

    public static ProviderResult Failure(ProviderError error) => new() { Error = error };
}
