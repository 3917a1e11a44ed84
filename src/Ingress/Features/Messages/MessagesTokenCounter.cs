using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// Input tokens of a (translated) Messages request with a real BPE tokenizer (o200k_base): system prompt,
/// messages, tool calls and results, tool definitions. An estimate for Claude models, whose tokenizer is not public.
/// </summary>
public static class MessagesTokenCounter
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    /// <summary>Counts an OpenAI chat request, with OpenAI's per-message overhead (3 per message, 3 for the reply).</summary>
    public static int Count(JsonObject openAiRequest)
    {
        ArgumentNullException.ThrowIfNull(openAiRequest);
        var total = 3;
        foreach (var message in (openAiRequest["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            total += 3 + Tokens(message["role"]?.ToString()) + Tokens(ContentText(message["content"]));
            foreach (var call in (message["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
            {
                total += Tokens(call["function"]?["name"]?.ToString()) + Tokens(call["function"]?["arguments"]?.ToString());
            }
        }

        if (openAiRequest["tools"] is JsonArray tools)
        {
            total += Tokens(tools.ToJsonString());
        }

        return total;
    }

    private static int Tokens(string? text) => string.IsNullOrEmpty(text) ? 0 : Tokenizer.Value.CountTokens(text);

    private static string ContentText(JsonNode? content) => content switch
    {
        JsonArray parts => string.Join('\n', parts.OfType<JsonObject>().Select(p => p["text"]?.ToString() ?? "")),
        null => "",
        _ => content.ToString(),
    };
}
