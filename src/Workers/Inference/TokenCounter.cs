using System.Text.Json.Nodes;
using Broker.ServiceDefaults.Tokens;

namespace Broker.Workers.Inference;

/// <summary>
/// Counts tokens with a real BPE tokenizer (o200k_base, GPT-4o's) where a provider reports no usage:
/// mock answers and streams without a usage chunk. Linear in the text and cancellable (see <see cref="TokenTally"/>).
/// </summary>
public static class TokenCounter
{
    public static int Count(string text, CancellationToken cancellationToken) => TokenTally.Count(text, cancellationToken);

    /// <summary>Prompt tokens of chat messages, with OpenAI's per-message overhead (3 per message, 3 for the reply).</summary>
    public static int CountMessages(JsonArray? messages, CancellationToken cancellationToken) =>
        messages is null ? 0 : AddMessages(new TokenTally(cancellationToken), messages).Total;

    /// <summary>Adds chat messages to a tally, with OpenAI's per-message overhead.</summary>
    public static TokenTally AddMessages(TokenTally tally, JsonArray? messages)
    {
        ArgumentNullException.ThrowIfNull(tally);
        if (messages is null)
        {
            return tally;
        }

        tally.AddTokens(3);
        foreach (var message in messages.OfType<JsonObject>())
        {
            tally.AddTokens(3).Add(Text(message["role"]));
            switch (message["content"])
            {
                case JsonArray parts:
                    var first = true;
                    foreach (var part in parts.OfType<JsonObject>())
                    {
                        tally.Add(first ? "" : " ").Add(Text(part["text"]));
                        first = false;
                    }

                    break;
                case var content:
                    tally.Add(Text(content));
                    break;
            }
        }

        return tally;
    }

    private static string Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}
