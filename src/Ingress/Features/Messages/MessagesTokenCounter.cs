using System.Text.Json.Nodes;
using Broker.ServiceDefaults.Tokens;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// Input tokens of a (translated) Messages request with a real BPE tokenizer (o200k_base): system prompt,
/// messages, tool calls and results, tool definitions. An estimate for Claude models, whose tokenizer is not public.
/// Linear in the input, bounded and cancellable (see <see cref="TokenTally"/>).
/// </summary>
public static class MessagesTokenCounter
{
    /// <summary>Counts an OpenAI chat request, with OpenAI's per-message overhead (3 per message, 3 for the reply).</summary>
    public static int Count(JsonObject openAiRequest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(openAiRequest);
        var tally = new TokenTally(cancellationToken).AddTokens(3);
        foreach (var message in (openAiRequest["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            tally.AddTokens(3).Add(message["role"]?.ToString());
            AddContent(tally, message["content"]);
            foreach (var call in (message["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
            {
                tally.Add(call["function"]?["name"]?.ToString()).Add(call["function"]?["arguments"]?.ToString());
            }
        }

        if (openAiRequest["tools"] is JsonArray tools)
        {
            tally.Add(tools.ToJsonString());
        }

        return tally.Total;
    }

    private static void AddContent(TokenTally tally, JsonNode? content)
    {
        switch (content)
        {
            case JsonArray parts:
                var first = true;
                foreach (var part in parts.OfType<JsonObject>())
                {
                    tally.Add(first ? "" : "\n").Add(part["text"]?.ToString());
                    first = false;
                }

                break;
            case null:
                break;
            default:
                tally.Add(content.ToString());
                break;
        }
    }
}
