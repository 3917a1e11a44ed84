using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Streaming;

namespace Broker.Ingress.Features.Responses;

/// <summary>
/// OpenAI's Responses stream: <c>event: &lt;type&gt;</c> / <c>data: {json}</c> frames numbered by <c>sequence_number</c>,
/// from <c>response.created</c> to <c>response.completed</c> (or <c>response.incomplete</c>, or <c>error</c> and
/// <c>response.failed</c>). Text becomes one message item; tool calls become function_call items. One instance per request.
/// </summary>
public sealed class ResponsesSseFormat(JsonObject request, string responseId, long createdAt) : ISseFormat
{
    private readonly JsonObject _request = request ?? throw new ArgumentNullException(nameof(request));
    private readonly List<OutputItem> _items = [];
    private readonly Dictionary<int, FunctionCallItem> _calls = [];
    private MessageItem? _message;
    private JsonObject? _usage;
    private string? _finishReason;
    private string _model = request["model"]?.GetValue<string>() ?? "";
    private int _sequence;

    public IEnumerable<string> Start()
    {
        var response = Envelope("in_progress", null, null, null);
        return [Frame("response.created", new JsonObject { ["response"] = response }), Frame("response.in_progress", new JsonObject { ["response"] = response.DeepClone() })];
    }

    public IEnumerable<string> Chunk(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (chunk["model"] is JsonValue model && model.GetValueKind() == JsonValueKind.String)
        {
            _model = model.GetValue<string>();
        }

        if (chunk["usage"] is JsonObject usage)
        {
            _usage = usage;
        }

        if (chunk["choices"] is not JsonArray { Count: > 0 } choices || choices[0] is not JsonObject choice)
        {
            return [];
        }

        var frames = new List<string>();
        if (choice["finish_reason"] is JsonValue finish && finish.GetValueKind() == JsonValueKind.String)
        {
            _finishReason = finish.GetValue<string>();
        }

        if (choice["delta"] is not JsonObject delta)
        {
            return frames;
        }

        if (delta["content"] is JsonValue content && content.GetValueKind() == JsonValueKind.String && content.GetValue<string>() is { Length: > 0 } text)
        {
            if (_message is null)
            {
                frames.AddRange(OpenMessage());
            }

            _message!.Text.Append(text);
            var deltaEvent = PartEvent(_message, null);
            deltaEvent["delta"] = text;
            deltaEvent["logprobs"] = new JsonArray();
            frames.Add(Frame("response.output_text.delta", deltaEvent));
        }

        if (delta["tool_calls"] is JsonArray toolCalls)
        {
            foreach (var call in toolCalls.OfType<JsonObject>())
            {
                var index = call["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
                if (!_calls.TryGetValue(index, out var item))
                {
                    item = new FunctionCallItem(ResponseObject.NewId("fc"), _items.Count)
                    {
                        CallId = call["id"]?.GetValue<string>() ?? ResponseObject.NewId("call"),
                        Name = call["function"]?["name"]?.GetValue<string>() ?? "",
                    };
                    _calls[index] = item;
                    _items.Add(item);
                    frames.Add(Frame("response.output_item.added", new JsonObject
                    {
                        ["output_index"] = item.OutputIndex,
                        ["item"] = ResponseObject.FunctionCall(item.Id, item.CallId, item.Name, "", "in_progress"),
                    }));
                }

                if (call["function"]?["arguments"] is JsonValue args && args.GetValue<string>() is { Length: > 0 } argsDelta)
                {
                    item.Arguments.Append(argsDelta);
                    frames.Add(Frame("response.function_call_arguments.delta", new JsonObject
                    {
                        ["item_id"] = item.Id,
                        ["output_index"] = item.OutputIndex,
                        ["delta"] = argsDelta,
                    }));
                }
            }
        }

        return frames;
    }

    public IEnumerable<string> Error(OpenAiErrorResult error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var body = error.Error.Error;
        var code = body.Code ?? body.Type;
        return
        [
            Frame("error", new JsonObject { ["code"] = code, ["message"] = body.Message, ["param"] = body.Param }),
            Frame("response.failed", new JsonObject
            {
                ["response"] = Envelope("failed", null, null, new JsonObject { ["code"] = code, ["message"] = body.Message }),
            }),
        ];
    }

    public IEnumerable<string> End()
    {
        var frames = new List<string>();
        if (_items.Count == 0)
        {
            // an empty answer is still one (empty) message, as in the non-streamed response
            frames.AddRange(OpenMessage());
        }

        foreach (var item in _items)
        {
            switch (item)
            {
                case MessageItem message:
                    var text = message.Text.ToString();
                    var done = PartEvent(message, null);
                    done["text"] = text;
                    done["logprobs"] = new JsonArray();
                    frames.Add(Frame("response.output_text.done", done));
                    frames.Add(Frame("response.content_part.done", PartEvent(message, ResponseObject.OutputText(text))));
                    break;
                case FunctionCallItem call:
                    frames.Add(Frame("response.function_call_arguments.done", new JsonObject
                    {
                        ["item_id"] = call.Id,
                        ["output_index"] = call.OutputIndex,
                        ["name"] = call.Name,
                        ["arguments"] = call.Arguments.ToString(),
                    }));
                    break;
            }

            frames.Add(Frame("response.output_item.done", new JsonObject { ["output_index"] = item.OutputIndex, ["item"] = Completed(item) }));
        }

        var (status, incomplete) = ResponseObject.Outcome(_finishReason);
        var response = Envelope(status, ResponseObject.Usage(_usage), incomplete, null);
        frames.Add(Frame(status == "completed" ? "response.completed" : "response.incomplete", new JsonObject { ["response"] = response }));
        return frames;
    }

    private string[] OpenMessage()
    {
        _message = new MessageItem(ResponseObject.NewId("msg"), _items.Count);
        _items.Add(_message);
        return
        [
            Frame("response.output_item.added", new JsonObject
            {
                ["output_index"] = _message.OutputIndex,
                ["item"] = ResponseObject.Message(_message.Id, "in_progress", []),
            }),
            Frame("response.content_part.added", PartEvent(_message, ResponseObject.OutputText(""))),
        ];
    }

    private JsonObject Envelope(string status, JsonObject? usage, JsonObject? incomplete, JsonObject? error)
    {
        var output = new JsonArray();
        if (status != "in_progress")
        {
            foreach (var item in _items)
            {
                output.Add(Completed(item));
            }
        }

        return ResponseObject.Create(_request, responseId, _model, createdAt, status, output, usage, incomplete, error);
    }

    private static JsonObject Completed(OutputItem item) => item switch
    {
        MessageItem message => ResponseObject.Message(message.Id, "completed", [ResponseObject.OutputText(message.Text.ToString())]),
        FunctionCallItem call => ResponseObject.FunctionCall(call.Id, call.CallId, call.Name, call.Arguments.ToString(), "completed"),
        _ => throw new InvalidOperationException("unknown output item"),
    };

    private static JsonObject PartEvent(MessageItem message, JsonObject? part)
    {
        var data = new JsonObject { ["item_id"] = message.Id, ["output_index"] = message.OutputIndex, ["content_index"] = 0 };
        if (part is not null)
        {
            data["part"] = part;
        }

        return data;
    }

    private string Frame(string type, JsonObject data)
    {
        var framed = new JsonObject { ["type"] = type, ["sequence_number"] = _sequence++ };
        foreach (var (key, value) in data.ToList())
        {
            data.Remove(key);
            framed[key] = value;
        }

        return $"event: {type}\ndata: {framed.ToJsonString()}\n\n";
    }

    private abstract class OutputItem(string id, int outputIndex)
    {
        public string Id { get; } = id;

        public int OutputIndex { get; } = outputIndex;
    }

    private sealed class MessageItem(string id, int outputIndex) : OutputItem(id, outputIndex)
    {
        public StringBuilder Text { get; } = new();
    }

    private sealed class FunctionCallItem(string id, int outputIndex) : OutputItem(id, outputIndex)
    {
        public required string CallId { get; init; }

        public required string Name { get; init; }

        public StringBuilder Arguments { get; } = new();
    }
}
