using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Broker.TestKit;

/// <summary>
/// Cohere's v2 API: <c>POST /v2/chat</c> (streamed as server-sent events when <c>stream</c> is true) and
/// <c>POST /v2/embed</c>. Usage: 9 input tokens, 4 output tokens.
/// </summary>
public sealed class FakeCohere : FakeProviderServer
{
    public const int InputTokens = 9;
    public const int OutputTokens = 4;

    public static Task<FakeCohere> StartAsync() => StartAsync(new FakeCohere());

    protected override async Task AnswerAsync(HttpContext http, CapturedRequest request)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(request);
        var body = request.Json;
        if (request.Path.EndsWith("/embed", StringComparison.Ordinal))
        {
            var vectors = new JsonArray();
            var count = (body["texts"] as JsonArray)?.Count ?? 0;
            for (var i = 0; i < count; i++)
            {
                vectors.Add(new JsonArray(0.1, 0.2, 0.3 + i));
            }

            await Json(http, new JsonObject
            {
                ["id"] = "embed-1",
                ["embeddings"] = new JsonObject { ["float"] = vectors },
                ["texts"] = body["texts"]?.DeepClone(),
                ["meta"] = new JsonObject { ["billed_units"] = new JsonObject { ["input_tokens"] = 3 * count } },
            });
            return;
        }

        var usage = new JsonObject
        {
            ["billed_units"] = new JsonObject { ["input_tokens"] = InputTokens, ["output_tokens"] = OutputTokens },
            ["tokens"] = new JsonObject { ["input_tokens"] = InputTokens, ["output_tokens"] = OutputTokens },
        };
        var finish = ReplyWithToolCall ? "TOOL_CALL" : "COMPLETE";
        if (body["stream"] is JsonValue s && s.TryGetValue<bool>(out var stream) && stream)
        {
            http.Response.ContentType = "text/event-stream";
            async Task Send(string type, JsonObject data)
            {
                data["type"] = type;
                await SendEventAsync(http, type, data.ToJsonString());
            }

            await Send("message-start", new JsonObject
            {
                ["id"] = "cohere-msg-1",
                ["delta"] = new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(), ["tool_calls"] = new JsonArray() } },
            });
            if (ReplyWithToolCall)
            {
                await Send("tool-plan-delta", new JsonObject { ["delta"] = new JsonObject { ["message"] = new JsonObject { ["tool_plan"] = "I will look it up." } } });
                await Send("tool-call-start", new JsonObject
                {
                    ["index"] = 0,
                    ["delta"] = new JsonObject
                    {
                        ["message"] = new JsonObject
                        {
                            ["tool_calls"] = new JsonObject
                            {
                                ["id"] = "get_weather_abc123", ["type"] = "function",
                                ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = "" },
                            },
                        },
                    },
                });
                foreach (var piece in new[] { "{\"city\":", "\"Paris\"}" })
                {
                    await Send("tool-call-delta", new JsonObject
                    {
                        ["index"] = 0,
                        ["delta"] = new JsonObject { ["message"] = new JsonObject { ["tool_calls"] = new JsonObject { ["function"] = new JsonObject { ["arguments"] = piece } } } },
                    });
                }

                await Send("tool-call-end", new JsonObject { ["index"] = 0 });
            }
            else
            {
                await Send("content-start", new JsonObject
                {
                    ["index"] = 0,
                    ["delta"] = new JsonObject { ["message"] = new JsonObject { ["content"] = new JsonObject { ["type"] = "text", ["text"] = "" } } },
                });
                foreach (var piece in Pieces())
                {
                    await Send("content-delta", new JsonObject
                    {
                        ["index"] = 0,
                        ["delta"] = new JsonObject { ["message"] = new JsonObject { ["content"] = new JsonObject { ["text"] = piece } } },
                    });
                }

                await Send("content-end", new JsonObject { ["index"] = 0 });
            }

            await Send("message-end", new JsonObject { ["delta"] = new JsonObject { ["finish_reason"] = finish, ["usage"] = usage } });
            return;
        }

        var message = new JsonObject { ["role"] = "assistant" };
        if (ReplyWithToolCall)
        {
            message["tool_plan"] = "I will look it up.";
            message["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = "get_weather_abc123",
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = "{\"city\":\"Paris\"}" },
            });
        }
        else
        {
            message["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = ReplyText });
        }

        await Json(http, new JsonObject { ["id"] = "cohere-msg-1", ["finish_reason"] = finish, ["message"] = message, ["usage"] = usage });
    }

    private static async Task Json(HttpContext http, JsonObject body)
    {
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }
}
