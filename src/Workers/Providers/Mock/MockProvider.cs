using System.Text.Json.Nodes;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.Mock;

/// <summary>litellm_params.mock_response (or a request's own mock_response): answers without calling anyone.</summary>
public sealed class MockProvider(TimeProvider timeProvider) : IChatProvider
{
    public Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var text = call.Request["mock_response"]?.GetValue<string>() ?? call.Deployment.MockResponse ?? "";
        var usage = new TokenUsage
        {
            PromptTokens = (call.Request["messages"] as JsonArray ?? []).Sum(m => CountWords(ContentText(m?["content"]))),
            CompletionTokens = CountWords(text),
        };
        var completion = new JsonObject
        {
            ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            ["object"] = "chat.completion",
            ["created"] = timeProvider.GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = call.ClientModel,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = usage.PromptTokens,
                ["completion_tokens"] = usage.CompletionTokens,
                ["total_tokens"] = usage.TotalTokens,
            },
        };
        return Task.FromResult(ProviderResult.Success(completion, usage));
    }

    private static string ContentText(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Join(' ', parts.Select(p => p?["text"]?.GetValue<string>() ?? "")),
        _ => "",
    };

    /// <summary>A rough count for a canned answer (no provider reports one); real counting comes with a tokenizer.</summary>
    private static int CountWords(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}
