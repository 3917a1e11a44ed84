using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Guardrails;

/// <summary>
/// The text-bearing string values of a request or answer (message contents, text parts, system prompts), each read
/// and written in place, so a guardrail sees plain texts and a masking guardrail's result lands where the text was.
/// </summary>
internal sealed class TextSlots
{
    private readonly List<(JsonNode Parent, string? Key, int Index)> _slots = [];

    public int Count => _slots.Count;

    public IReadOnlyList<string> Texts() => _slots.Select(Get).ToList();

    /// <summary>Writes <paramref name="texts"/> back (same count and order as <see cref="Texts"/>); true when any changed.</summary>
    public bool Write(IReadOnlyList<string> texts)
    {
        var changed = false;
        for (var i = 0; i < _slots.Count && i < texts.Count; i++)
        {
            if (!string.Equals(Get(_slots[i]), texts[i], StringComparison.Ordinal))
            {
                Set(_slots[i], texts[i]);
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>The texts of a request: OpenAI messages (string or text parts) or Anthropic system + messages.</summary>
    public static TextSlots OfRequest(JsonObject body, GuardrailShape shape)
    {
        var slots = new TextSlots();
        if (shape == GuardrailShape.Embeddings)
        {
            slots.AddContent(body, "input");
            return slots;
        }

        if (shape == GuardrailShape.Anthropic)
        {
            slots.AddContent(body, "system");
        }

        if (body["messages"] is JsonArray messages)
        {
            foreach (var message in messages.OfType<JsonObject>())
            {
                slots.AddContent(message, "content");
            }
        }

        if (shape == GuardrailShape.OpenAiChat && body["prompt"] is not null)
        {
            slots.AddContent(body, "prompt");
        }

        return slots;
    }

    /// <summary>The texts of an answer: OpenAI choices[].message.content, or Anthropic content[] text blocks.</summary>
    public static TextSlots OfAnswer(JsonObject answer, GuardrailShape shape)
    {
        var slots = new TextSlots();
        if (shape == GuardrailShape.Anthropic)
        {
            slots.AddContent(answer, "content");
            return slots;
        }

        if (answer["choices"] is JsonArray choices)
        {
            foreach (var choice in choices.OfType<JsonObject>())
            {
                if (choice["message"] is JsonObject message)
                {
                    slots.AddContent(message, "content");
                }
                else if (choice["text"] is JsonValue)
                {
                    slots.AddContent(choice, "text");
                }
            }
        }

        return slots;
    }

    /// <summary>The text delta of one stream chunk (null when the chunk carries none).</summary>
    public static TextSlots? OfChunk(JsonObject chunk, GuardrailShape shape)
    {
        var slots = new TextSlots();
        if (shape == GuardrailShape.Anthropic)
        {
            if (chunk["type"]?.GetValue<string>() == "content_block_delta" && chunk["delta"] is JsonObject delta && IsString(delta["text"]))
            {
                slots._slots.Add((delta, "text", -1));
            }
        }
        else if (chunk["choices"] is JsonArray choices && choices.Count > 0 && choices[0] is JsonObject choice &&
                 choice["delta"] is JsonObject delta && IsString(delta["content"]))
        {
            slots._slots.Add((delta, "content", -1));
        }

        return slots.Count == 0 ? null : slots;
    }

    private void AddContent(JsonObject owner, string key)
    {
        switch (owner[key])
        {
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                _slots.Add((owner, key, -1));
                break;
            case JsonArray parts:
                for (var i = 0; i < parts.Count; i++)
                {
                    if (parts[i] is JsonObject part && IsString(part["text"]) && part["type"]?.GetValue<string>() is null or "text" or "input_text" or "output_text")
                    {
                        _slots.Add((part, "text", -1));
                    }
                    else if (parts[i] is JsonValue item && item.GetValueKind() == JsonValueKind.String)
                    {
                        _slots.Add((parts, null, i));
                    }
                }

                break;
        }
    }

    private static bool IsString(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;

    private static string Get((JsonNode Parent, string? Key, int Index) slot) =>
        (slot.Key is null ? slot.Parent.AsArray()[slot.Index] : slot.Parent[slot.Key])?.GetValue<string>() ?? "";

    private static void Set((JsonNode Parent, string? Key, int Index) slot, string text)
    {
        if (slot.Key is null)
        {
            slot.Parent.AsArray()[slot.Index] = text;
        }
        else
        {
            slot.Parent[slot.Key] = text;
        }
    }
}
