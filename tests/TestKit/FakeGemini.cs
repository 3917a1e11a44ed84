using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Broker.TestKit;

/// <summary>
/// Gemini's API: <c>POST /v1beta/models/{model}:generateContent</c>, <c>:streamGenerateContent?alt=sse</c> and
/// <c>:batchEmbedContents</c>. Usage: 12 prompt tokens, 6 candidate tokens.
/// </summary>
public sealed class FakeGemini : FakeProviderServer
{
    public const int PromptTokens = 12;
    public const int CandidateTokens = 6;

    public static Task<FakeGemini> StartAsync() => StartAsync(new FakeGemini());

    protected override async Task AnswerAsync(HttpContext http, CapturedRequest request)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(request);
        var path = request.Path;
        if (path.EndsWith(":batchEmbedContents", StringComparison.Ordinal))
        {
            var embeddings = new JsonArray();
            var count = (request.Json["requests"] as JsonArray)?.Count ?? 0;
            for (var i = 0; i < count; i++)
            {
                embeddings.Add(new JsonObject { ["values"] = new JsonArray(0.1, 0.2, 0.3 + i) });
            }

            await Json(http, new JsonObject { ["embeddings"] = embeddings });
            return;
        }

        if (path.EndsWith(":streamGenerateContent", StringComparison.Ordinal))
        {
            http.Response.ContentType = "text/event-stream";
            if (ReplyWithToolCall)
            {
                await SendEventAsync(http, null, Response([ToolCallPart()], "STOP", usage: true).ToJsonString());
                return;
            }

            var pieces = Pieces();
            for (var i = 0; i < pieces.Count; i++)
            {
                var last = i == pieces.Count - 1;
                await SendEventAsync(http, null, Response([new JsonObject { ["text"] = pieces[i] }], last ? "STOP" : null, usage: last).ToJsonString());
            }

            return;
        }

        JsonNode part = ReplyWithToolCall ? ToolCallPart() : new JsonObject { ["text"] = ReplyText };
        await Json(http, Response([part], "STOP", usage: true));
    }

    private static JsonObject ToolCallPart() =>
        new() { ["functionCall"] = new JsonObject { ["name"] = "get_weather", ["args"] = new JsonObject { ["city"] = "Paris" } } };

    private static JsonObject Response(JsonNode[] parts, string? finishReason, bool usage)
    {
        var candidate = new JsonObject
        {
            ["content"] = new JsonObject { ["role"] = "model", ["parts"] = new JsonArray(parts) },
            ["index"] = 0,
        };
        if (finishReason is not null)
        {
            candidate["finishReason"] = finishReason;
        }

        var response = new JsonObject
        {
            ["candidates"] = new JsonArray(candidate),
            ["modelVersion"] = "gemini-2.0-flash",
            ["responseId"] = "fakeGeminiResponse1",
        };
        if (usage)
        {
            response["usageMetadata"] = new JsonObject
            {
                ["promptTokenCount"] = PromptTokens,
                ["candidatesTokenCount"] = CandidateTokens,
                ["totalTokenCount"] = PromptTokens + CandidateTokens,
            };
        }

        return response;
    }

    private static async Task Json(HttpContext http, JsonObject body)
    {
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }
}
