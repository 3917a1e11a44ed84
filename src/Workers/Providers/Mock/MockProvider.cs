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

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        var result = await CompleteAsync(call, cancellationToken);
        return ProviderStream.Of(ChunksAsync(result.Completion!, result.Usage, cancellationToken));
    }

    /// <summary>The canned answer as a stream: a role chunk, the text a few words at a time, finish and usage chunks.</summary>
    private static async IAsyncEnumerable<JsonObject> ChunksAsync(
        JsonObject completion, TokenUsage usage, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var text = completion["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = completion["id"]!.DeepClone(),
            ["object"] = "chat.completion.chunk",
            ["created"] = completion["created"]!.DeepClone(),
            ["model"] = completion["model"]!.DeepClone(),
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };

        yield return Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
        var words = text.Split(' ');
        for (var i = 0; i < words.Length; i += 3)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var piece = string.Join(' ', words.Skip(i).Take(3)) + (i + 3 < words.Length ? " " : "");
            yield return Chunk(new JsonObject { ["content"] = piece }, null);
            await Task.Yield();
        }

        yield return Chunk(new JsonObject(), "stop");
        var usageChunk = Chunk(new JsonObject(), null);
        usageChunk["choices"] = new JsonArray();
        usageChunk["usage"] = new JsonObject
        {
            ["prompt_tokens"] = usage.PromptTokens,
            ["completion_tokens"] = usage.CompletionTokens,
            ["total_tokens"] = usage.TotalTokens,
        };
        yield return usageChunk;
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
