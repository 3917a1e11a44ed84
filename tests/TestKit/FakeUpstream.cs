using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.TestKit;

/// <summary>One request as the fake provider received it.</summary>
public sealed record RecordedRequest(string Path, string Query, IReadOnlyDictionary<string, string> Headers, JsonObject Body);

/// <summary>
/// A real HTTP server on 127.0.0.1 that plays an LLM provider (OpenAI-compatible or Anthropic).
/// Records each request and the highest number of requests it held at once.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private int _inFlight;
    private int _maxInFlight;
    private int _cancelled;
    private int _received;
    private int _calls;

    private FakeUpstream(WebApplication app) => _app = app;

    /// <summary>Base URL, e.g. http://127.0.0.1:41234.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Delay before answering.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>When set, answer with this status and body instead of a completion.</summary>
    public (int Status, string Body, IReadOnlyDictionary<string, string>? Headers)? Failure { get; set; }

    /// <summary>When set, <see cref="Failure"/> and <see cref="Delay"/> apply only to the first this many requests.</summary>
    public int? OnlyFirstRequests { get; set; }

    /// <summary>The text the fake puts in its answer.</summary>
    public string ReplyText { get; set; } = "Hello from the fake provider";

    /// <summary>
    /// When set, the text of the n-th answer (n from 1, counted as requests arrive; the request body given too) instead of
    /// <see cref="ReplyText"/>: tells generations apart.
    /// </summary>
    public Func<int, JsonObject, string>? ReplyTextFor { get; set; }

    /// <summary>
    /// When set, awaited (with the request's abort token) before the n-th answer starts (n from 1, as for
    /// <see cref="ReplyTextFor"/>): lets a test hold answers until an event of its own instead of a fixed delay.
    /// </summary>
    public Func<int, CancellationToken, Task>? HoldAnswer { get; set; }

    /// <summary>Streamed answers: when set, awaited before text chunk i (from 0) of the n-th answer is sent, as <c>(n, i, aborted)</c>.</summary>
    public Func<int, int, CancellationToken, Task>? HoldChunk { get; set; }

    /// <summary>Streamed answers: the pause before each text chunk.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Streamed answers: abort the connection after this many text chunks.</summary>
    public int? BreakStreamAfterChunks { get; set; }

    /// <summary>Requests whose client went away before the fake had finished answering.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>The embedding answered for each input text; null = a fixed small vector per index.</summary>
    public Func<string, float[]>? EmbeddingFor { get; set; }

    public IReadOnlyCollection<RecordedRequest> Requests => _requests;

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public void ResetStats()
    {
        _requests.Clear();
        Volatile.Write(ref _maxInFlight, 0);
    }

    /// <summary>Starts an OpenAI-compatible fake: <c>POST .../chat/completions</c> (any prefix, Azure's deployment paths too).</summary>
    public static Task<FakeUpstream> StartOpenAiAsync() => StartAsync(anthropic: false);

    /// <summary>Starts an Anthropic fake: <c>POST /v1/messages</c>.</summary>
    public static Task<FakeUpstream> StartAnthropicAsync() => StartAsync(anthropic: true);

    private static async Task<FakeUpstream> StartAsync(bool anthropic)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeUpstream(app);
        app.MapPost("/{**path}", async (HttpContext http) => await fake.HandleAsync(http, anthropic));
        await app.StartAsync();
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    private async Task HandleAsync(HttpContext http, bool anthropic)
    {
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject ?? [];
            var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            _requests.Enqueue(new RecordedRequest(http.Request.Path, http.Request.QueryString.Value ?? "", headers, body));
            var call = Interlocked.Increment(ref _calls);
            var replyText = ReplyTextFor?.Invoke(call, body) ?? ReplyText;
            var applies = OnlyFirstRequests is not { } first || Interlocked.Increment(ref _received) <= first;
            if (applies && Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, http.RequestAborted);
            }

            if (HoldAnswer is { } hold)
            {
                await hold(call, http.RequestAborted);
            }

            if (applies && Failure is { } failure)
            {
                http.Response.StatusCode = failure.Status;
                foreach (var (name, value) in failure.Headers ?? new Dictionary<string, string>())
                {
                    http.Response.Headers[name] = value;
                }

                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(failure.Body);
                return;
            }

            var model = body["model"]?.GetValue<string>() ?? "unknown";
            if (http.Request.Path.Value!.EndsWith("/embeddings", StringComparison.Ordinal))
            {
                // like many OpenAI-compatible servers: floats, whatever encoding_format asked for
                var inputs = body["input"] is JsonArray list ? list.Select(x => x?.ToString() ?? "").ToList() : [body["input"]?.ToString() ?? ""];
                var data = new JsonArray();
                for (var i = 0; i < inputs.Count; i++)
                {
                    var embedding = EmbeddingFor is { } chosen
                        ? new JsonArray(chosen(inputs[i]).Select(v => (JsonNode)JsonValue.Create(v)).ToArray())
                        : new JsonArray(0.1f, 0.2f, 0.3f + i);
                    data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
                }

                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(new JsonObject
                {
                    ["object"] = "list", ["data"] = data, ["model"] = model,
                    ["usage"] = new JsonObject { ["prompt_tokens"] = 4, ["total_tokens"] = 4 },
                }.ToJsonString());
                return;
            }

            if (body["stream"] is JsonValue stream && stream.TryGetValue<bool>(out var streamed) && streamed)
            {
                await StreamAsync(http, anthropic, model, body, replyText, call);
                return;
            }

            JsonObject reply = anthropic
                ? new JsonObject
                {
                    ["id"] = "msg_fake123",
                    ["type"] = "message",
                    ["role"] = "assistant",
                    ["model"] = model,
                    ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = replyText }),
                    ["stop_reason"] = "end_turn",
                    ["usage"] = new JsonObject { ["input_tokens"] = 11, ["output_tokens"] = 7 },
                }
                : new JsonObject
                {
                    ["id"] = "chatcmpl-fake123",
                    ["object"] = "chat.completion",
                    ["created"] = 1_700_000_000,
                    ["model"] = model,
                    ["choices"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0,
                        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = replyText },
                        ["finish_reason"] = "stop",
                    }),
                    ["usage"] = new JsonObject { ["prompt_tokens"] = 13, ["completion_tokens"] = 5, ["total_tokens"] = 18 },
                };
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(reply.ToJsonString());
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>The words of <see cref="ReplyText"/> (with their spaces), the pieces a stream sends.</summary>
    public IReadOnlyList<string> Pieces() => Pieces(ReplyText);

    private static List<string> Pieces(string text)
    {
        var words = text.Split(' ');
        return words.Select((w, i) => i < words.Length - 1 ? w + " " : w).ToList();
    }

    private async Task StreamAsync(HttpContext http, bool anthropic, string model, JsonObject body, string text, int call)
    {
        http.Response.ContentType = "text/event-stream";
        var aborted = http.RequestAborted;
        async Task Send(string? eventType, JsonObject data)
        {
            var frame = (eventType is null ? "" : $"event: {eventType}\n") + "data: " + data.ToJsonString() + "\n\n";
            await http.Response.WriteAsync(frame, aborted);
            await http.Response.Body.FlushAsync(aborted);
        }

        var pieces = Pieces(text);
        if (anthropic)
        {
            await Send("message_start", new JsonObject
            {
                ["type"] = "message_start",
                ["message"] = new JsonObject
                {
                    ["id"] = "msg_fake123", ["type"] = "message", ["role"] = "assistant", ["model"] = model,
                    ["content"] = new JsonArray(), ["stop_reason"] = null,
                    ["usage"] = new JsonObject { ["input_tokens"] = 11, ["output_tokens"] = 1 },
                },
            });
            await Send("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
            for (var i = 0; i < pieces.Count; i++)
            {
                await PauseOrBreak(http, call, i);
                await Send("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = pieces[i] } });
            }

            await Send("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 });
            await Send("message_delta", new JsonObject
            {
                ["type"] = "message_delta",
                ["delta"] = new JsonObject { ["stop_reason"] = "end_turn", ["stop_sequence"] = null },
                ["usage"] = new JsonObject { ["output_tokens"] = 7 },
            });
            await Send("message_stop", new JsonObject { ["type"] = "message_stop" });
            return;
        }

        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = "chatcmpl-fake123",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_700_000_000,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };
        await Send(null, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
        for (var i = 0; i < pieces.Count; i++)
        {
            await PauseOrBreak(http, call, i);
            await Send(null, Chunk(new JsonObject { ["content"] = pieces[i] }, null));
        }

        await Send(null, Chunk(new JsonObject(), "stop"));
        if (body["stream_options"]?["include_usage"] is JsonValue u && u.TryGetValue<bool>(out var include) && include)
        {
            var usage = Chunk(new JsonObject(), null);
            usage["choices"] = new JsonArray();
            usage["usage"] = new JsonObject { ["prompt_tokens"] = 13, ["completion_tokens"] = 5, ["total_tokens"] = 18 };
            await Send(null, usage);
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", aborted);
    }

    private async Task PauseOrBreak(HttpContext http, int call, int index)
    {
        if (BreakStreamAfterChunks is { } limit && index >= limit)
        {
            // let the client read what was sent, then drop the connection as a crashing server would
            await Task.Delay(300);
            http.Abort();
            throw new OperationCanceledException("stream broken on purpose");
        }

        if (ChunkDelay > TimeSpan.Zero)
        {
            await Task.Delay(ChunkDelay, http.RequestAborted);
        }

        if (HoldChunk is { } hold)
        {
            await hold(call, index, http.RequestAborted);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
