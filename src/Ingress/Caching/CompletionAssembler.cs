using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Caching;

/// <summary>
/// Builds the <c>chat.completion</c> a stream amounts to, from its <c>chat.completion.chunk</c>s: text, reasoning
/// and tool calls per choice, finish reasons, and the usage chunk's usage.
/// </summary>
public sealed class CompletionAssembler
{
    private readonly SortedDictionary<int, Choice> _choices = [];
    private JsonObject? _usage;
    private string? _id;
    private long? _created;
    private string? _model;
    private string? _systemFingerprint;

    public void Add(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        _id ??= Text(chunk["id"]);
        _model ??= Text(chunk["model"]);
        _systemFingerprint ??= Text(chunk["system_fingerprint"]);
        if (_created is null && chunk["created"] is JsonValue created && created.TryGetValue<long>(out var c))
        {
            _created = c;
        }

        if (chunk["usage"] is JsonObject usage)
        {
            _usage = (JsonObject)usage.DeepClone();
        }

        if (chunk["choices"] is not JsonArray choices)
        {
            return;
        }

        foreach (var node in choices)
        {
            if (node is not JsonObject choice)
            {
                continue;
            }

            var index = choice["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
            if (!_choices.TryGetValue(index, out var state))
            {
                _choices[index] = state = new Choice();
            }

            if (Text(choice["finish_reason"]) is { } finish)
            {
                state.FinishReason = finish;
            }

            if (choice["delta"] is not JsonObject delta)
            {
                continue;
            }

            state.Role ??= Text(delta["role"]);
            if (Text(delta["content"]) is { } content)
            {
                state.Content ??= new StringBuilder();
                state.Content.Append(content);
            }

            if (Text(delta["reasoning_content"]) is { } reasoning)
            {
                state.Reasoning ??= new StringBuilder();
                state.Reasoning.Append(reasoning);
            }

            if (delta["tool_calls"] is JsonArray calls)
            {
                foreach (var call in calls.OfType<JsonObject>())
                {
                    var callIndex = call["index"] is JsonValue ci && ci.TryGetValue<int>(out var k) ? k : state.ToolCalls.Count;
                    if (!state.ToolCalls.TryGetValue(callIndex, out var tool))
                    {
                        state.ToolCalls[callIndex] = tool = new ToolCall();
                    }

                    tool.Id ??= Text(call["id"]);
                    tool.Type ??= Text(call["type"]);
                    tool.Name ??= Text(call["function"]?["name"]);
                    if (Text(call["function"]?["arguments"]) is { } arguments)
                    {
                        tool.Arguments.Append(arguments);
                    }
                }
            }
        }
    }

    /// <summary>The whole answer as a <c>chat.completion</c>.</summary>
    public JsonObject Build()
    {
        var choices = new JsonArray();
        foreach (var (index, state) in _choices)
        {
            var message = new JsonObject { ["role"] = state.Role ?? "assistant", ["content"] = state.Content?.ToString() };
            if (state.Reasoning is not null)
            {
                message["reasoning_content"] = state.Reasoning.ToString();
            }

            if (state.ToolCalls.Count > 0)
            {
                message["tool_calls"] = new JsonArray(state.ToolCalls.Values.Select(t => (JsonNode)new JsonObject
                {
                    ["id"] = t.Id,
                    ["type"] = t.Type ?? "function",
                    ["function"] = new JsonObject { ["name"] = t.Name, ["arguments"] = t.Arguments.ToString() },
                }).ToArray());
            }

            choices.Add(new JsonObject { ["index"] = index, ["message"] = message, ["finish_reason"] = state.FinishReason });
        }

        var completion = new JsonObject
        {
            ["id"] = _id,
            ["object"] = "chat.completion",
            ["created"] = _created,
            ["model"] = _model,
            ["choices"] = choices,
        };
        if (_systemFingerprint is not null)
        {
            completion["system_fingerprint"] = _systemFingerprint;
        }

        if (_usage is not null)
        {
            completion["usage"] = _usage.DeepClone();
        }

        return completion;
    }

    /// <summary>Whether the stream ended with every choice finished (an answer worth keeping).</summary>
    public bool IsComplete => _choices.Count > 0 && _choices.Values.All(c => c.FinishReason is not null);

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private sealed class Choice
    {
        public string? Role { get; set; }

        public StringBuilder? Content { get; set; }

        public StringBuilder? Reasoning { get; set; }

        public string? FinishReason { get; set; }

        public SortedDictionary<int, ToolCall> ToolCalls { get; } = [];
    }

    private sealed class ToolCall
    {
        public string? Id { get; set; }

        public string? Type { get; set; }

        public string? Name { get; set; }

        public StringBuilder Arguments { get; } = new();
    }
}
