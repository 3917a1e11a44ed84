using System.Text;
using Broker.Ingress.Auth;
using Broker.Ingress.Inference;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Broker.Ingress.Streaming;

/// <summary>
/// Writes a <see cref="ChatCompletionStream"/> as server-sent events in some API's format, flushing every
/// frame as it comes. A failure before anything was written is an ordinary HTTP error; after that it is an
/// error frame. Keep-alive comments go out while the first token is slow. The client leaving cancels upstream.
/// </summary>
public static class SseStreamResult
{
    private static readonly object EndedKey = new();

    /// <summary>Whether this request's stream was written to its end (not broken off by an error, not left by the client).</summary>
    public static bool EndedCleanly(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Items.ContainsKey(EndedKey);
    }

    public static async Task<IResult> WriteAsync(
        HttpContext http,
        ChatCompletionStream stream,
        ISseFormat format,
        InferenceClient inference,
        IngressOptions options,
        TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(inference);
        ArgumentNullException.ThrowIfNull(options);
        await using (stream)
        {
            try
            {
                return await WriteEventsAsync(http, stream, format, inference, options, timeProvider);
            }
            finally
            {
                // what the stream used counts against the caller's tpm limits (see AuthFilter)
                if (stream.Usage is var (input, output))
                {
                    AnswerTokens.Record(http, input, output);
                }
            }
        }
    }

    private static async Task<IResult> WriteEventsAsync(
        HttpContext http, ChatCompletionStream stream, ISseFormat format, InferenceClient inference, IngressOptions options, TimeProvider timeProvider)
    {
        var cancellationToken = http.RequestAborted;
        var started = false;
        try
        {
            await foreach (var item in stream.ReadAllAsync(
                inference.StreamTimeout,
                TimeSpan.FromSeconds(options.StreamIdleTimeoutSeconds),
                TimeSpan.FromSeconds(options.SseKeepAliveSeconds),
                timeProvider,
                cancellationToken))
            {
                switch (item)
                {
                    case StreamFailed failed when !started:
                        foreach (var (name, value) in stream.Headers)
                        {
                            http.Response.Headers[name] = value;
                        }

                        return failed.Error;
                    case StreamFailed failed:
                        await WriteFramesAsync(http, format.Error(failed.Error), cancellationToken);
                        return Results.Empty;
                    case StreamKeepAlive:
                        await StartAsync(http, stream, format, started, cancellationToken);
                        started = true;
                        await WriteFramesAsync(http, [": keep-alive\n\n"], cancellationToken);
                        break;
                    case StreamChunk chunk:
                        await StartAsync(http, stream, format, started, cancellationToken);
                        started = true;
                        await WriteFramesAsync(http, format.Chunk(chunk.Chunk), cancellationToken);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the client went away: disposing the stream cancels the upstream call
            return Results.Empty;
        }

        await StartAsync(http, stream, format, started, cancellationToken);
        await WriteFramesAsync(http, format.End(), cancellationToken);
        http.Items[EndedKey] = true;
        return Results.Empty;
    }

    private static async Task StartAsync(HttpContext http, ChatCompletionStream stream, ISseFormat format, bool started, CancellationToken cancellationToken)
    {
        if (started)
        {
            return;
        }

        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        foreach (var (name, value) in stream.Headers)
        {
            http.Response.Headers[name] = value;
        }

        await WriteFramesAsync(http, format.Start(), cancellationToken);
    }

    private static async Task WriteFramesAsync(HttpContext http, IEnumerable<string> frames, CancellationToken cancellationToken)
    {
        var any = false;
        foreach (var frame in frames)
        {
            await http.Response.WriteAsync(frame, Encoding.UTF8, cancellationToken);
            any = true;
        }

        if (any)
        {
            await http.Response.Body.FlushAsync(cancellationToken);
        }
    }
}
