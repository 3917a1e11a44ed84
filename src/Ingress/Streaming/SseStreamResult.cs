using System.Text;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
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
        TimeProvider timeProvider,
        IStreamGate? gate = null)
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
                return await WriteEventsAsync(http, stream, format, inference, options, timeProvider, gate);
            }
            finally
            {
                // the guardrails' late decisions go to the stream's spend log row, however the stream ended
                gate?.Ended(stream.RequestId);

                // what the stream used counts against the caller's tpm limits (see AuthFilter)
                if (stream.Usage is var (input, output))
                {
                    AnswerTokens.Record(http, input, output);
                }
            }
        }
    }

    private static async Task<IResult> WriteEventsAsync(
        HttpContext http, ChatCompletionStream stream, ISseFormat format, InferenceClient inference, IngressOptions options, TimeProvider timeProvider,
        IStreamGate? gate)
    {
        var cancellationToken = http.RequestAborted;
        var started = false;
        var opened = gate is null;
        try
        {
            await foreach (var item in stream.ReadAllAsync(
                inference.StreamTimeout,
                TimeSpan.FromSeconds(options.StreamIdleTimeoutSeconds),
                TimeSpan.FromSeconds(options.SseKeepAliveSeconds),
                timeProvider,
                cancellationToken))
            {
                if (!opened && item is StreamKeepAlive or StreamChunk)
                {
                    // a parallel check (during_call guardrail) holds the first frame; its refusal is the HTTP answer
                    opened = true;
                    if (await gate!.BeforeFirstFrameAsync(cancellationToken) is { } refused)
                    {
                        foreach (var (name, value) in stream.Headers)
                        {
                            http.Response.Headers[name] = value;
                        }

                        return refused;
                    }
                }

                switch (item)
                {
                    case StreamFailed failed when !started:
                        foreach (var (name, value) in stream.Headers)
                        {
                            http.Response.Headers[name] = value;
                        }

                        return failed.Error;
                    case StreamFailed failed:
                        if (OutcomeUnknown.StopsTheCall(failed.Error.Error.Error.Code))
                        {
                            OutcomeUnknown.MarkStopped(http);
                        }
                        else if (failed.Error.MayHaveRun)
                        {
                            OutcomeUnknown.Mark(http);
                        }

                        await WriteFramesAsync(http, format.Error(failed.Error), cancellationToken);
                        return Results.Empty;
                    case StreamKeepAlive:
                        await StartAsync(http, stream, format, started, cancellationToken);
                        started = true;
                        await WriteFramesAsync(http, [": keep-alive\n\n"], cancellationToken);
                        break;
                    case StreamChunk chunk:
                        started |= await WriteChunksAsync(http, stream, format, gate, chunk, started, cancellationToken);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the client went away: disposing the stream cancels the upstream call
            return Results.Empty;
        }

        if (gate is not null)
        {
            if (!opened && await gate.BeforeFirstFrameAsync(cancellationToken) is { } refused)
            {
                return refused;
            }

            var (error, rest) = await gate.BeforeEndAsync(cancellationToken);
            if (error is not null && !started)
            {
                foreach (var (name, value) in stream.Headers)
                {
                    http.Response.Headers[name] = value;
                }

                return error;
            }

            if (error is not null)
            {
                await WriteFramesAsync(http, format.Error(error), cancellationToken);
                return Results.Empty;
            }

            await StartAsync(http, stream, format, started, cancellationToken);
            started = true;
            foreach (var held in rest)
            {
                await WriteFramesAsync(http, format.Chunk(held), cancellationToken);
            }
        }

        await StartAsync(http, stream, format, started, cancellationToken);
        await WriteFramesAsync(http, format.End(), cancellationToken);
        http.Items[EndedKey] = true;
        return Results.Empty;
    }

    /// <summary>Writes a chunk (through the gate, which may hold it back: then nothing starts yet).</summary>
    private static async Task<bool> WriteChunksAsync(
        HttpContext http, ChatCompletionStream stream, ISseFormat format, IStreamGate? gate, StreamChunk chunk, bool started, CancellationToken cancellationToken)
    {
        IReadOnlyList<System.Text.Json.Nodes.JsonObject> chunks = gate is null ? [chunk.Chunk] : gate.Chunk(chunk.Chunk);
        if (chunks.Count == 0)
        {
            return false;
        }

        await StartAsync(http, stream, format, started, cancellationToken);
        foreach (var c in chunks)
        {
            await WriteFramesAsync(http, format.Chunk(c), cancellationToken);
        }

        return true;
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
