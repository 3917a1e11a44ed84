// A deliberately cheap OpenAI-compatible chat completions server for Broker's benchmark.
//
//   fake-provider --port 9100 [--delay-ms 0] [--chunks 4] [--chunk-delay-ms 0]
//
// POST /v1/chat/completions (and /chat/completions):
//   non-stream: waits --delay-ms, answers one chat.completion with usage.
//   stream:     waits --delay-ms, then writes the first SSE chunk in the same flush as the response
//               headers (so time-to-first-byte means time-to-first-token), then --chunks - 1 more
//               content chunks --chunk-delay-ms apart, a finish chunk, a usage chunk when
//               stream_options.include_usage is true, and `data: [DONE]`.
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.Bench.FakeProvider;

var options = FakeOptions.Parse(args);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(System.Net.IPAddress.Loopback, options.Port);
    k.AddServerHeader = false;
});
var app = builder.Build();

var handler = new ChatHandler(options);
app.MapPost("/v1/chat/completions", handler.HandleAsync);
app.MapPost("/chat/completions", handler.HandleAsync);
app.MapGet("/health", () => Results.Text("ok"));
app.Run();

namespace Broker.Bench.FakeProvider
{
    internal sealed record FakeOptions(int Port, int DelayMs, int Chunks, int ChunkDelayMs)
    {
        public static FakeOptions Parse(string[] args)
        {
            int Get(string name, int fallback)
            {
                var i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
            }

            return new FakeOptions(Get("--port", 9100), Get("--delay-ms", 0), Math.Max(1, Get("--chunks", 4)), Get("--chunk-delay-ms", 0));
        }
    }

    internal sealed class ChatHandler(FakeOptions options)
    {
        private const string Content = "Hello from the fake provider.";
        private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
        private long _counter;

        public async Task HandleAsync(HttpContext http)
        {
            var (model, stream, includeUsage) = await ReadRequestAsync(http.Request);
            if (options.DelayMs > 0)
            {
                await Task.Delay(options.DelayMs, http.RequestAborted);
            }

            var id = "chatcmpl-fake" + Interlocked.Increment(ref _counter).ToString(CultureInfo.InvariantCulture);
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (!stream)
            {
                http.Response.ContentType = "application/json";
                var body = Encoding.UTF8.GetBytes(
                    $$$"""{"id":"{{{id}}}","object":"chat.completion","created":{{{created}}},"model":"{{{model}}}","choices":[{"index":0,"message":{"role":"assistant","content":"{{{Content}}}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}""");
                http.Response.ContentLength = body.Length;
                await http.Response.Body.WriteAsync(body, http.RequestAborted);
                return;
            }

            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            var writer = http.Response.BodyWriter;
            var prefix = $$"""data: {"id":"{{id}}","object":"chat.completion.chunk","created":{{created}},"model":"{{model}}","choices":""";

            // first chunk: buffered into the pipe, then one flush sends headers and chunk together
            Write(writer, $$"""{{prefix}}[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}""");
            await writer.FlushAsync(http.RequestAborted);
            for (var i = 1; i < options.Chunks; i++)
            {
                if (options.ChunkDelayMs > 0)
                {
                    await Task.Delay(options.ChunkDelayMs, http.RequestAborted);
                }

                Write(writer, $$"""{{prefix}}[{"index":0,"delta":{"content":" part {{i}}"},"finish_reason":null}]}""");
                await writer.FlushAsync(http.RequestAborted);
            }

            Write(writer, $$"""{{prefix}}[{"index":0,"delta":{},"finish_reason":"stop"}]}""");
            if (includeUsage)
            {
                Write(writer, $$$"""{{{prefix}}}[],"usage":{"prompt_tokens":12,"completion_tokens":{{{options.Chunks}}},"total_tokens":{{{12 + options.Chunks}}}}}""");
            }

            writer.Write(Done);
            await writer.FlushAsync(http.RequestAborted);
        }

        private static void Write(IBufferWriter<byte> writer, string dataLine)
        {
            writer.Write(Encoding.UTF8.GetBytes(dataLine + "\n\n"));
        }

        private static async Task<(string Model, bool Stream, bool IncludeUsage)> ReadRequestAsync(HttpRequest request)
        {
            using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            var root = doc.RootElement;
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "fake" : "fake";
            var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            var includeUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
                && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
            return (model, stream, includeUsage);
        }
    }
}
