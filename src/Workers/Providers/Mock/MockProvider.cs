using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Broker.Workers.Inference;

namespace Broker.Workers.Providers.Mock;

/// <summary>litellm_params.mock_response (or a request's own mock_response): answers without calling anyone.</summary>
public sealed class MockProvider(TimeProvider timeProvider) : IProvider, IEmbeddingProvider, IRerankProvider
{
    /// <summary>
    /// A deterministic ranking: each document scores the share of the query's words it contains (ties: the earlier
    /// document first), answered in Cohere's shape.
    /// </summary>
    public Task<ProviderResult> RerankAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var query = call.Request["query"] is JsonValue q && q.TryGetValue<string>(out var text) ? text : "";
        var words = Words(query);
        var results = new JsonArray();
        var texts = RerankShapes.Texts(call.Request);
        for (var i = 0; i < texts.Count; i++)
        {
            var found = Words(texts[i]);
            var score = words.Count == 0 ? 0 : Math.Round((double)words.Count(found.Contains) / words.Count, 4);
            results.Add(new JsonObject { ["index"] = i, ["relevance_score"] = score });
        }

        var answer = new JsonObject { ["id"] = "rerank-" + Guid.NewGuid().ToString("N"), ["results"] = results };
        return Task.FromResult(RerankShapes.ToCohere(answer, call.Request, "mock", RerankShapes.CountTokens(call.Request, cancellationToken)));
    }

    private static HashSet<string> Words(string text) =>
        text.Split((char[])[' ', '\t', '\n', '.', ',', '?', '!', ';', ':'], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);

    public Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var text = call.Request["mock_response"]?.GetValue<string>() ?? call.Deployment.MockResponse ?? "";
        var usage = new TokenUsage
        {
            PromptTokens = TokenCounter.CountMessages(call.Request["messages"] as JsonArray, cancellationToken),
            CompletionTokens = TokenCounter.Count(text, cancellationToken),
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

    /// <summary>Deterministic unit vectors (same input, same vector), <c>dimensions</c> long (default 1536).</summary>
    public Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var dimensions = call.Request["dimensions"] is JsonValue d && d.TryGetValue<int>(out var n) && n > 0 ? n : 1536;
        var inputs = call.Request["input"] switch
        {
            JsonArray list when list.All(i => i is JsonValue v && v.TryGetValue<string>(out _)) => list.Select(i => i!.GetValue<string>()).ToList(),
            JsonArray list when list.All(i => i is JsonValue v && v.TryGetValue<long>(out _)) => [list.ToJsonString()],
            JsonArray list => list.Select(i => i?.ToJsonString() ?? "").ToList(),
            JsonValue v when v.TryGetValue<string>(out var text) => [text],
            var other => [other?.ToJsonString() ?? ""],
        };
        var data = new JsonArray();
        var tokens = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            tokens += TokenCounter.Count(inputs[i], cancellationToken);
            var random = new Random(BitConverter.ToInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(inputs[i])), 0));
            var vector = Enumerable.Range(0, dimensions).Select(_ => random.NextDouble() - 0.5).ToArray();
            var norm = Math.Sqrt(vector.Sum(x => x * x));
            data.Add(new JsonObject
            {
                ["object"] = "embedding",
                ["index"] = i,
                ["embedding"] = new JsonArray(vector.Select(x => (JsonNode)JsonValue.Create((float)(x / norm))).ToArray()),
            });
        }

        var usage = new TokenUsage { PromptTokens = tokens, CompletionTokens = 0 };
        var body = new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = call.ClientModel,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
        return Task.FromResult(ProviderResult.Success(body, usage));
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
}
