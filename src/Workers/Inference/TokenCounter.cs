using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace Broker.Workers.Inference;

/// <summary>
/// Counts tokens with a real BPE tokenizer (o200k_base, GPT-4o's) where a provider reports no usage:
/// mock answers and streams without a usage chunk.
/// </summary>
public static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    public static int Count(string text) => string.IsNullOrEmpty(text) ? 0 : Tokenizer.Value.CountTokens(text);

    /// <summary>Prompt tokens of chat messages, with OpenAI's per-message overhead (3 per message, 3 for the reply).</summary>
    public static int CountMessages(JsonArray? messages)
    {
        if (messages is null)
        {
            return 0;
        }

        var total = 3;
        foreach (var message in messages.OfType<JsonObject>())
        {
            total += 3 + Count(message["role"]?.GetValue<string>() ?? "") + Count(ContentText(message["content"]));
        }

        return total;
    }

    private static string ContentText(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Join(' ', parts.OfType<JsonObject>().Select(p => p["text"]?.GetValue<string>() ?? "")),
        _ => "",
    };
}
