using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Broker.Contracts.Inference;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Inference;

/// <summary>
/// One streamed request as seen by the Ingress: chunk batches arrive from the worker (possibly out of order),
/// are put back in sequence, and are read once as <see cref="StreamEvent"/>s. Disposing before the end
/// tells the worker to stop.
/// </summary>
public sealed class ChatCompletionStream : IAsyncDisposable
{
    private readonly Channel<StreamEvent> _events = Channel.CreateUnbounded<StreamEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<int, ChatCompletionChunksStreamed> _pending = new();
    private readonly Lock _gate = new();
    private readonly Func<ChatCompletionStream, ValueTask> _onDispose;
    // attempts (consumes of the command, see ChatCompletionChunksStreamed.AttemptId) this stream no longer reads from
    private readonly HashSet<Guid> _superseded = [];
    private int _next;
    private bool _finished;
    private Guid? _attempt;
    private bool _sentChunk;

    internal ChatCompletionStream(Guid requestId, string modelGroup, string queue, Func<ChatCompletionStream, ValueTask> onDispose)
    {
        RequestId = requestId;
        _onDispose = onDispose;
        Headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["x-litellm-model-group"] = modelGroup,
            ["x-litellm-call-id"] = requestId.ToString(),
            ["x-broker-queue"] = queue,
        };
    }

    public Guid RequestId { get; }

    /// <summary>Model group the stream was sent to.</summary>
    public string ModelGroup => Headers["x-litellm-model-group"];

    /// <summary>When the first chunk arrived (<see cref="TimeProvider.GetTimestamp"/>), 0 before.</summary>
    public long FirstChunkTimestamp { get; private set; }

    /// <summary>Prompt and completion tokens: from the usage chunk, then the worker's count on the last batch.</summary>
    public (int Input, int Output)? Usage { get; private set; }

    /// <summary>The status of the failure that ended the stream, if one did.</summary>
    public int? FailedStatus { get; private set; }

    internal long StartedTimestamp { get; init; }

    internal TimeProvider? Clock { get; init; }

    /// <summary>The first attempt's step timeout (see InferenceClient), disposed with the stream.</summary>
    internal ITimer? StepTimeout { get; set; }

    /// <summary>Response headers; <c>x-litellm-model-id</c> is added when the first batch names the deployment.</summary>
    public Dictionary<string, string> Headers { get; }

    /// <summary>The attempt the stream reads from (see <see cref="Deliver"/>), once one was heard from.</summary>
    public Guid? AttemptId
    {
        get
        {
            lock (_gate)
            {
                return _attempt;
            }
        }
    }

    /// <summary>Ended because another attempt took the request up after part of the answer was sent.</summary>
    public bool Interrupted { get; private set; }

    /// <summary>The worker that serves the stream, once known.</summary>
    public Uri? WorkerAddress { get; private set; }

    public bool Finished
    {
        get
        {
            lock (_gate)
            {
                return _finished;
            }
        }
    }

    /// <summary>Events in order: chunks, keep-alives while waiting, and at most one terminal failure.</summary>
    public async IAsyncEnumerable<StreamEvent> ReadAllAsync(
        TimeSpan firstChunkTimeout,
        TimeSpan idleTimeout,
        TimeSpan keepAliveInterval,
        TimeProvider timeProvider,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        var lastEvent = started;
        var sawChunk = false;
        while (true)
        {
            var limit = sawChunk ? idleTimeout : firstChunkTimeout;
            var waited = timeProvider.GetElapsedTime(sawChunk ? lastEvent : started);
            var remaining = limit - waited;
            if (remaining <= TimeSpan.Zero)
            {
                var error = sawChunk
                    ? new OpenAiErrorResult(StatusCodes.Status504GatewayTimeout, $"Stream stalled: no chunk for {limit.TotalSeconds:0.#}s (a chunk may have been lost)", "timeout", null, "stream_stalled")
                    : new OpenAiErrorResult(StatusCodes.Status504GatewayTimeout, $"No first token within stream_timeout ({limit.TotalSeconds:0.#}s)", "timeout", null, "timeout");
                yield return new StreamFailed(error);
                yield break;
            }

            var wait = keepAliveInterval > TimeSpan.Zero && keepAliveInterval < remaining ? keepAliveInterval : remaining;
            using var timeout = new CancellationTokenSource(wait, timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            StreamEvent? next = null;
            bool timedOut;
            try
            {
                if (!await _events.Reader.WaitToReadAsync(linked.Token))
                {
                    yield break;
                }

                _events.Reader.TryRead(out next);
                timedOut = false;
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                timedOut = true;
            }

            if (timedOut)
            {
                if (wait < remaining)
                {
                    yield return new StreamKeepAlive();
                }

                continue;
            }

            if (next is null)
            {
                continue;
            }

            lastEvent = timeProvider.GetTimestamp();
            if (next is StreamChunk)
            {
                sawChunk = true;
            }

            yield return next;
            if (next is StreamFailed)
            {
                yield break;
            }
        }
    }

    /// <summary>Ends the stream now with <paramref name="error"/> (its chunks can no longer arrive), unless it has ended.</summary>
    internal void Fail(InferenceFailed error)
    {
        lock (_gate)
        {
            FailLocked(error);
        }
    }

    /// <summary>
    /// Takes one batch from the bus; releases every batch that is now in sequence. The stream reads from one attempt
    /// only: a redelivered command's new attempt replaces the old one while nothing has reached the client, and
    /// ends the stream with an error once something has (a client never gets two generations joined). Returns the
    /// attempt to stop, if one must be: one this stream will not read from that is still sending.
    /// </summary>
    internal StreamAttempt? Deliver(ChatCompletionChunksStreamed batch)
    {
        lock (_gate)
        {
            if (batch.AttemptId is { } attempt && attempt != _attempt)
            {
                if (_superseded.Contains(attempt))
                {
                    return StreamAttempt.Of(batch);
                }

                if (_attempt is { } current)
                {
                    _superseded.Add(current);
                    if (_sentChunk)
                    {
                        // the client holds part of another generation: this one cannot continue it
                        _superseded.Add(attempt);
                        Interrupted = !_finished;
                        FailLocked(InterruptedError());
                        return StreamAttempt.Of(batch);
                    }

                    // nothing reached the client yet: the new attempt streams from its start
                    _pending.Clear();
                    _next = 0;
                    WorkerAddress = null;
                }

                _attempt = attempt;
            }

            if (_finished || batch.Sequence < _next)
            {
                return null;
            }

            _pending[batch.Sequence] = batch;
            while (_pending.TryRemove(_next, out var ready))
            {
                _next++;
                Release(ready);
                if (_finished)
                {
                    _pending.Clear();
                    return null;
                }
            }

            return null;
        }
    }

    private void FailLocked(InferenceFailed error)
    {
        if (_finished)
        {
            return;
        }

        _pending.Clear();
        Release(new ChatCompletionChunksStreamed { RequestId = RequestId, Sequence = _next, Chunks = [], IsLast = true, Error = error });
    }

    private InferenceFailed InterruptedError() => new()
    {
        RequestId = RequestId,
        StatusCode = StatusCodes.Status502BadGateway,
        ErrorClass = ProviderErrorClass.InternalServerError,
        Message = "The worker serving this stream stopped after part of the answer was sent, and the request was taken up again by another " +
            "worker; its answer cannot continue the part already sent. Retry the request.",
        Type = "api_error",
        Code = "stream_interrupted",
        Queue = Headers.GetValueOrDefault("x-broker-queue"),
    };

    private void Release(ChatCompletionChunksStreamed batch)
    {
        if (batch.WorkerAddress is not null)
        {
            WorkerAddress = batch.WorkerAddress;
        }

        if (batch.DeploymentId is not null)
        {
            Headers["x-litellm-attempted-retries"] = batch.AttemptedRetries.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Headers["x-litellm-attempted-fallbacks"] = batch.AttemptedFallbacks.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Headers["x-litellm-model-id"] = batch.DeploymentId;
            Headers["x-litellm-model-group"] = batch.ModelGroup ?? Headers["x-litellm-model-group"];
        }

        foreach (var chunk in batch.Chunks)
        {
            if (JsonNode.Parse(chunk) is JsonObject obj)
            {
                if (FirstChunkTimestamp == 0 && Clock is not null)
                {
                    FirstChunkTimestamp = Clock.GetTimestamp();
                }

                if (obj["usage"] is JsonObject usage)
                {
                    Usage = ((int?)usage["prompt_tokens"] ?? 0, (int?)usage["completion_tokens"] ?? 0);
                }

                _sentChunk = true;
                _events.Writer.TryWrite(new StreamChunk(obj));
            }
        }

        if (batch.Error is { } error)
        {
            FailedStatus = error.StatusCode;
            _events.Writer.TryWrite(new StreamFailed(new OpenAiErrorResult(error.StatusCode, error.Message, error.Type, error.Param, error.Code)
            {
                RetryAfterSeconds = error.RetryAfterSeconds,
            }));
        }

        if (batch.IsLast && batch.Usage is { } final)
        {
            Usage = (final.PromptTokens, final.CompletionTokens);
        }

        if (batch.IsLast || batch.Error is not null)
        {
            _finished = true;
            _events.Writer.TryComplete();
        }
    }

    public ValueTask DisposeAsync()
    {
        StepTimeout?.Dispose();
        return _onDispose(this);
    }
}
