using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Caching;

/// <summary>
/// The prompt of one request as a semantic cache compares it, and its embedding once computed (the lookup computes
/// it, the store after a miss reuses it). <see cref="Scope"/> keeps answers of different model groups, call types and
/// namespaces apart.
/// </summary>
public sealed class SemanticQuery(string scope, string prompt)
{
    public string Scope { get; } = scope;

    public string Prompt { get; } = prompt;

    /// <summary>The unit-length embedding of <see cref="Prompt"/>, set by the lookup.</summary>
    public float[]? Vector { get; set; }

    /// <summary>
    /// The text a request's answer depends on: the messages' text (system and user alike, in order), else
    /// <c>prompt</c>, else <c>input</c>; null when there is none.
    /// </summary>
    public static string? PromptOf(JsonObject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = new StringBuilder();
        if (request["messages"] is JsonArray messages)
        {
            foreach (var message in messages)
            {
                Append(text, message?["content"]);
            }
        }

        if (request["system"] is { } system)
        {
            Append(text, system);
        }

        if (text.Length == 0)
        {
            Append(text, request["prompt"] ?? request["input"]);
        }

        return text.Length == 0 ? null : text.ToString();
    }

    private static void Append(StringBuilder text, JsonNode? content)
    {
        switch (content)
        {
            case JsonValue value when value.TryGetValue<string>(out var s):
                if (text.Length > 0)
                {
                    text.Append('\n');
                }

                text.Append(s);
                break;
            case JsonArray parts:
                foreach (var part in parts)
                {
                    Append(text, part is JsonObject o ? o["text"] : part);
                }

                break;
        }
    }
}
