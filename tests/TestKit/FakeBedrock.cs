using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Broker.TestKit;

/// <summary>
/// Bedrock runtime: <c>POST /model/{modelId}/converse</c> and <c>/converse-stream</c> (AWS event-stream binary
/// framing). It checks no signature; tests recompute it from <see cref="CapturedRequest"/>. Usage: 15 in, 8 out.
/// </summary>
public sealed class FakeBedrock : FakeProviderServer
{
    public const int InputTokens = 15;
    public const int OutputTokens = 8;

    /// <summary>Streamed answers: send this exception (e.g. <c>throttlingException</c>) after the first text delta.</summary>
    public string? StreamException { get; set; }

    public static Task<FakeBedrock> StartAsync() => StartAsync(new FakeBedrock());

    protected override async Task AnswerAsync(HttpContext http, CapturedRequest request)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(request);
        var usage = new JsonObject { ["inputTokens"] = InputTokens, ["outputTokens"] = OutputTokens, ["totalTokens"] = InputTokens + OutputTokens };
        var stop = ReplyWithToolCall ? "tool_use" : "end_turn";
        if (request.Path.EndsWith("/converse-stream", StringComparison.Ordinal))
        {
            http.Response.ContentType = "application/vnd.amazon.eventstream";
            await Event(http, "messageStart", new JsonObject { ["role"] = "assistant" });
            if (ReplyWithToolCall)
            {
                await Event(http, "contentBlockStart", new JsonObject
                {
                    ["contentBlockIndex"] = 0,
                    ["start"] = new JsonObject { ["toolUse"] = new JsonObject { ["toolUseId"] = "tooluse_abc123", ["name"] = "get_weather" } },
                });
                foreach (var piece in new[] { "{\"city\":", "\"Paris\"}" })
                {
                    await Event(http, "contentBlockDelta", new JsonObject
                    {
                        ["contentBlockIndex"] = 0,
                        ["delta"] = new JsonObject { ["toolUse"] = new JsonObject { ["input"] = piece } },
                    });
                }
            }
            else
            {
                foreach (var piece in Pieces())
                {
                    await Event(http, "contentBlockDelta", new JsonObject { ["contentBlockIndex"] = 0, ["delta"] = new JsonObject { ["text"] = piece }, ["p"] = "abcd" });
                    if (StreamException is { } exception)
                    {
                        await Write(http, Encode(
                            [(":message-type", "exception"), (":exception-type", exception), (":content-type", "application/json")],
                            new JsonObject { ["message"] = "Too many requests, please wait before trying again." }.ToJsonString()));
                        return;
                    }
                }
            }

            await Event(http, "contentBlockStop", new JsonObject { ["contentBlockIndex"] = 0 });
            await Event(http, "messageStop", new JsonObject { ["stopReason"] = stop });
            await Event(http, "metadata", new JsonObject { ["usage"] = usage, ["metrics"] = new JsonObject { ["latencyMs"] = 120 } });
            return;
        }

        JsonObject block = ReplyWithToolCall
            ? new JsonObject { ["toolUse"] = new JsonObject { ["toolUseId"] = "tooluse_abc123", ["name"] = "get_weather", ["input"] = new JsonObject { ["city"] = "Paris" } } }
            : new JsonObject { ["text"] = ReplyText };
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(new JsonObject
        {
            ["output"] = new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(block) } },
            ["stopReason"] = stop,
            ["usage"] = usage,
            ["metrics"] = new JsonObject { ["latencyMs"] = 120 },
        }.ToJsonString(), http.RequestAborted);
    }

    private static Task Event(HttpContext http, string eventType, JsonObject payload) =>
        Write(http, Encode([(":event-type", eventType), (":content-type", "application/json"), (":message-type", "event")], payload.ToJsonString()));

    private static async Task Write(HttpContext http, byte[] frame)
    {
        await http.Response.Body.WriteAsync(frame, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    /// <summary>One event-stream message: prelude (lengths + CRC), string headers (type 7), payload, message CRC.</summary>
    public static byte[] Encode(IReadOnlyList<(string Name, string Value)> headers, string payload)
    {
        ArgumentNullException.ThrowIfNull(headers);
        using var headerBytes = new MemoryStream();
        foreach (var (name, value) in headers)
        {
            var n = Encoding.UTF8.GetBytes(name);
            var v = Encoding.UTF8.GetBytes(value);
            headerBytes.WriteByte((byte)n.Length);
            headerBytes.Write(n);
            headerBytes.WriteByte(7);
            headerBytes.WriteByte((byte)(v.Length >> 8));
            headerBytes.WriteByte((byte)v.Length);
            headerBytes.Write(v);
        }

        var body = Encoding.UTF8.GetBytes(payload);
        var total = 12 + (int)headerBytes.Length + body.Length + 4;
        var message = new byte[total];
        BinaryPrimitives.WriteInt32BigEndian(message, total);
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(4), (int)headerBytes.Length);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), Crc32(message.AsSpan(0, 8)));
        headerBytes.ToArray().CopyTo(message, 12);
        body.CopyTo(message, 12 + (int)headerBytes.Length);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(total - 4), Crc32(message.AsSpan(0, total - 4)));
        return message;
    }

    /// <summary>CRC-32/ISO-HDLC, bit by bit (slow and obviously right is what a fake wants).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
