using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Observability;
using MassTransit;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Inference;

/// <summary>
/// Sends inference commands to a model group's queue with this instance's address (<see cref="InstanceEndpoint"/>) as ResponseAddress,
/// and matches the worker's replies (<see cref="Reply"/>) and chunk batches (<see cref="Deliver"/>) to the
/// waiting request by its id. One dictionary lookup per reply; no timer task or cancelled task per request.
/// </summary>
public sealed class InferenceClient(
    IBus bus, InstanceEndpoint instance, IProxyConfigProvider config, IngressOptions options, BrokerMetrics metrics, TimeProvider timeProvider,
    DelayedSend queues, IHttpContextAccessor? httpContext = null, Features.Queues.QueueBacklog? backlog = null)
{
    /// <summary>LiteLLM's default request timeout (600 s) when neither router_settings.timeout nor request_timeout is set.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(600);

    /// <summary>The retry saga's queue (Workers' ChatCompletionRetryStateMachine.QueueName).</summary>
    private const string RetrySagaQueue = "chat-completion-retries";

    private readonly ConcurrentDictionary<string, Task<ISendEndpoint>> _endpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<object>> _pending = new();
    private readonly ConcurrentDictionary<Guid, ChatCompletionStream> _streams = new();
    private readonly ConcurrentDictionary<Guid, (string Queue, long StartedTimestamp)> _started = new();

    /// <summary>The authenticated caller of the HTTP request being served (null for the master key, an open gateway or health probes).</summary>
    private Contracts.Identity.Caller? CurrentCaller => httpContext?.HttpContext?.GetCaller();

    public TimeSpan Timeout => config.Current.RouterSettings.Timeout ?? DefaultTimeout;

    /// <summary>The longest a send to the queue may take (Ingress:QueueSendTimeoutSeconds).</summary>
    private TimeSpan QueueSendTimeout => TimeSpan.FromSeconds(Math.Max(0.1, options.QueueSendTimeoutSeconds));

    /// <summary>Time allowed until the first streamed token: stream_timeout, else the request timeout.</summary>
    public TimeSpan StreamTimeout => config.Current.RouterSettings.StreamTimeout ?? Timeout;

    /// <summary>A non-streamed chat completion of an OpenAI-shaped request, with Broker's response headers.</summary>
    public Task<ChatCompletionOutcome> CompleteAsync(ModelGroup group, string requestedModel, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return CompleteAsync(group, requestedModel, request.ToJsonString(), cancellationToken);
    }

    /// <summary>A non-streamed chat completion of an OpenAI request given as JSON text (sent on unchanged).</summary>
    public Task<ChatCompletionOutcome> CompleteAsync(ModelGroup group, string requestedModel, string request, CancellationToken cancellationToken) =>
        CompleteAsync(group, requestedModel, request, deploymentId: null, Timeout, cancellationToken);

    /// <summary>A chat completion pinned to one deployment when <paramref name="deploymentId"/> is set (health probes).</summary>
    public async Task<ChatCompletionOutcome> CompleteAsync(
        ModelGroup group, string requestedModel, string request, string? deploymentId, TimeSpan timeout, CancellationToken cancellationToken,
        string? format = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        var started = timeProvider.GetTimestamp();
        var requestId = NewId.NextGuid();
        var now = timeProvider.GetUtcNow();
        var command = new CreateChatCompletion
        {
            RequestId = requestId,
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = request,
            Deadline = now + timeout,
            DeploymentId = deploymentId,
            Format = format,
            Caller = CurrentCaller,
            Guardrails = global::Broker.Ingress.Guardrails.GuardrailRun.PreCallOutcomes(httpContext?.HttpContext),
            StepDueAt = FirstStepDueAt(group, deploymentId, stream: false, now, now + timeout),
            KeepAnswerSeconds = InferenceSendHook.KeepAnswerSecondsOf(httpContext?.HttpContext),
        };
        using var stepTimeout = ArmStepTimeout(command, () => _pending.ContainsKey(requestId));
        var reply = await SendAndWaitAsync(group.QueueName, command, requestId, timeout, cancellationToken);
        Record("chat", group, reply, started);
        switch (reply)
        {
            case ChatCompletionSucceeded succeeded:
                var headers = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["x-litellm-model-id"] = succeeded.DeploymentId,
                    ["x-litellm-model-group"] = succeeded.ModelGroup,
                    ["x-litellm-call-id"] = succeeded.RequestId.ToString(),
                    ["x-broker-queue"] = succeeded.Queue,
                    ["x-litellm-attempted-retries"] = succeeded.AttemptedRetries.ToString(CultureInfo.InvariantCulture),
                    ["x-litellm-attempted-fallbacks"] = succeeded.AttemptedFallbacks.ToString(CultureInfo.InvariantCulture),
                    ["x-litellm-response-duration-ms"] = timeProvider.GetElapsedTime(started).TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture),
                };
                AddCost(headers, succeeded.Cost);
                return new ChatCompletionOutcome(succeeded.Body, null, headers);
            default:
                return Failed(reply, group, requestId, timeout);
        }
    }

    /// <summary>
    /// A health probe of one deployment through its group's queue (<c>GET /health</c>): a one-token chat completion,
    /// or a one-input embedding for <c>model_info.mode: embedding</c>; not billed. Null when it answered, else why not.
    /// </summary>
    public async Task<string?> ProbeAsync(ModelGroup group, ModelDeployment deployment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(deployment);
        var requestId = NewId.NextGuid();
        var deadline = timeProvider.GetUtcNow() + timeout;
        var reply = deployment.ModelInfo.IsEmbedding
            ? await SendAndWaitAsync(group.QueueName, new CreateEmbedding
            {
                RequestId = requestId,
                ModelGroup = group.Name,
                RequestedModel = group.Name,
                Body = new JsonObject { ["model"] = group.Name, ["input"] = new JsonArray("ping") }.ToJsonString(),
                Deadline = deadline,
                DeploymentId = deployment.Id,
                HealthCheck = true,
            }, requestId, timeout, cancellationToken)
            : await SendAndWaitAsync(group.QueueName, new CreateChatCompletion
            {
                RequestId = requestId,
                ModelGroup = group.Name,
                RequestedModel = group.Name,
                Body = new JsonObject
                {
                    ["model"] = group.Name,
                    ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "ping" }),
                    ["max_tokens"] = 1,
                }.ToJsonString(),
                Deadline = deadline,
                DeploymentId = deployment.Id,
                HealthCheck = true,
            }, requestId, timeout, cancellationToken);
        return reply switch
        {
            ChatCompletionSucceeded or EmbeddingSucceeded => null,
            InferenceFailed failed => failed.Message,
            _ => string.Create(CultureInfo.InvariantCulture, $"no answer within {timeout.TotalSeconds:0.#} s"),
        };
    }

    /// <summary>Embeddings of an OpenAI-shaped request through the group's queue, with Broker's response headers.</summary>
    public async Task<ChatCompletionOutcome> EmbedAsync(ModelGroup group, string requestedModel, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        var timeout = Timeout;
        var started = timeProvider.GetTimestamp();
        var requestId = NewId.NextGuid();
        var command = new CreateEmbedding
        {
            RequestId = requestId,
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = request.ToJsonString(),
            Deadline = timeProvider.GetUtcNow() + timeout,
            Caller = CurrentCaller,
            Guardrails = global::Broker.Ingress.Guardrails.GuardrailRun.PreCallOutcomes(httpContext?.HttpContext),
            KeepAnswerSeconds = InferenceSendHook.KeepAnswerSecondsOf(httpContext?.HttpContext),
        };
        var reply = await SendAndWaitAsync(group.QueueName, command, requestId, timeout, cancellationToken);
        Record("embeddings", group, reply, started);
        if (reply is not EmbeddingSucceeded succeeded)
        {
            return Failed(reply, group, requestId, timeout);
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["x-litellm-model-id"] = succeeded.DeploymentId,
            ["x-litellm-model-group"] = succeeded.ModelGroup,
            ["x-litellm-call-id"] = succeeded.RequestId.ToString(),
            ["x-broker-queue"] = succeeded.Queue,
        };
        AddCost(headers, succeeded.Cost);
        return new ChatCompletionOutcome(succeeded.Body, null, headers);
    }

    /// <summary>A rerank (Cohere's shape) through the group's queue, with Broker's response headers.</summary>
    public async Task<ChatCompletionOutcome> RerankAsync(ModelGroup group, string requestedModel, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        var timeout = Timeout;
        var started = timeProvider.GetTimestamp();
        var requestId = NewId.NextGuid();
        var command = new CreateRerank
        {
            RequestId = requestId,
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = request.ToJsonString(),
            Deadline = timeProvider.GetUtcNow() + timeout,
            Caller = CurrentCaller,
            KeepAnswerSeconds = InferenceSendHook.KeepAnswerSecondsOf(httpContext?.HttpContext),
        };
        var reply = await SendAndWaitAsync(group.QueueName, command, requestId, timeout, cancellationToken);
        Record("rerank", group, reply, started);
        if (reply is not RerankSucceeded succeeded)
        {
            return Failed(reply, group, requestId, timeout);
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["x-litellm-model-id"] = succeeded.DeploymentId,
            ["x-litellm-model-group"] = succeeded.ModelGroup,
            ["x-litellm-call-id"] = succeeded.RequestId.ToString(),
            ["x-broker-queue"] = succeeded.Queue,
        };
        AddCost(headers, succeeded.Cost);
        return new ChatCompletionOutcome(succeeded.Body, null, headers);
    }

    /// <summary>x-litellm-response-cost: the request's cost in USD, when the model's price is known.</summary>
    private static void AddCost(Dictionary<string, string> headers, decimal? cost)
    {
        if (cost is { } usd)
        {
            headers["x-litellm-response-cost"] = usd.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Starts a streamed chat completion; read it with <see cref="ChatCompletionStream.ReadAllAsync"/> and
    /// dispose it when done (disposing early cancels the upstream call).
    /// </summary>
    public async Task<ChatCompletionStream> StreamAsync(
        ModelGroup group, string requestedModel, JsonObject request, CancellationToken cancellationToken, string? format = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        if (InferenceSendHook.TakeAdopted(httpContext?.HttpContext) is { } adopted)
        {
            // a repeat of a streamed request whose Ingress died or lost the stream: that stream as its worker kept it,
            // nothing sent; the route renders it as it renders a live one
            return Replayed(group, adopted);
        }

        var requestId = NewId.NextGuid();
        var stream = new ChatCompletionStream(requestId, group.Name, group.QueueName, EndStreamAsync)
        {
            StartedTimestamp = timeProvider.GetTimestamp(),
            Clock = timeProvider,
        };
        _streams[requestId] = stream;
        var timeout = Timeout;
        var now = timeProvider.GetUtcNow();
        var command = new CreateChatCompletion
        {
            RequestId = requestId,
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = request.ToJsonString(),
            Deadline = now + timeout,
            Stream = true,
            Format = format,
            Caller = CurrentCaller,
            Guardrails = global::Broker.Ingress.Guardrails.GuardrailRun.PreCallOutcomes(httpContext?.HttpContext),
            StepDueAt = FirstStepDueAt(group, null, stream: true, now, now + timeout),
            KeepAnswerSeconds = InferenceSendHook.KeepAnswerSecondsOf(httpContext?.HttpContext),
        };
        // the stream's first batch (or its end) disarms it; dropped with the stream
        stream.StepTimeout = ArmStepTimeout(command, () => stream.FirstChunkTimestamp == 0 && !stream.Finished && _streams.ContainsKey(requestId));
        try
        {
            await SendAsync(group.QueueName, command, requestId, timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is not QueueUnavailableException)
        {
            // the caller left before it was sent (or the send failed otherwise): nothing waits on this stream
            _streams.TryRemove(requestId, out _);
            throw;
        }
        catch (QueueUnavailableException unavailable)
        {
            // answered as a stream that failed before its first chunk: an ordinary HTTP error
            stream.Fail(unavailable.Reply(requestId, group.QueueName));
        }

        return stream;
    }

    /// <summary>
    /// A stream made of another request's kept answer (<see cref="InferenceSendHook.Adopt"/>): its whole stream in one
    /// batch (<see cref="ChatCompletionChunksStreamed"/>), or the failure it was answered with before it streamed.
    /// </summary>
    private ChatCompletionStream Replayed(ModelGroup group, object kept)
    {
        var (requestId, batch) = kept switch
        {
            ChatCompletionChunksStreamed whole => (whole.RequestId, whole with { Sequence = 0, AttemptId = null, WorkerAddress = null, IsLast = true }),
            InferenceFailed failed => (failed.RequestId, new ChatCompletionChunksStreamed
            {
                RequestId = failed.RequestId, Sequence = 0, Chunks = [], IsLast = true, Error = failed,
            }),
            _ => throw new InvalidOperationException($"A kept {kept.GetType().Name} is not the answer of a streamed request"),
        };
        // counted when it ran, not again: nothing to end or cancel
        var stream = new ChatCompletionStream(requestId, group.Name, batch.Queue ?? group.QueueName, static _ => ValueTask.CompletedTask)
        {
            StartedTimestamp = timeProvider.GetTimestamp(),
            Clock = timeProvider,
        };
        stream.Deliver(batch);
        return stream;
    }

    /// <summary>
    /// Sends a prepared command (batch lines) to a queue with this instance as the reply address and waits for the
    /// worker's reply: <see cref="ChatCompletionSucceeded"/>, <see cref="EmbeddingSucceeded"/>, <see cref="InferenceFailed"/>,
    /// or null when none came within <paramref name="timeout"/>.
    /// </summary>
    public Task<object?> RunAsync<T>(string queue, T command, Guid requestId, TimeSpan timeout, CancellationToken cancellationToken)
        where T : class => SendAndWaitAsync(queue, command, requestId, timeout, cancellationToken, boundedSend: false);

    /// <summary>
    /// Requests this instance is still waiting on with no answer yet (non-streamed: no reply; streamed: no first
    /// chunk), with their queue and how long they have waited: what llm_requests_hanging alerts look at.
    /// </summary>
    public IReadOnlyList<OutstandingRequest> Outstanding()
    {
        var list = new List<OutstandingRequest>();
        foreach (var (id, (queue, started)) in _started)
        {
            list.Add(new OutstandingRequest(id, queue, timeProvider.GetElapsedTime(started)));
        }

        foreach (var (id, stream) in _streams)
        {
            if (stream.FirstChunkTimestamp == 0 && !stream.Finished)
            {
                list.Add(new OutstandingRequest(id, stream.Headers["x-broker-queue"], timeProvider.GetElapsedTime(stream.StartedTimestamp)));
            }
        }

        return list;
    }

    /// <summary>
    /// This instance lost its answer queue (its RabbitMQ connection dropped): answers on their way are lost, so every
    /// request still waiting ends now with 502 <c>answer_lost</c> (it may still run) instead of at its timeout.
    /// </summary>
    public void FailOutstanding()
    {
        foreach (var (id, waiting) in _pending)
        {
            var queue = _started.TryGetValue(id, out var started) ? started.Queue : "";
            waiting.TrySetResult(QueueUnavailableException.AnswerLost(queue).Reply(id, queue));
        }

        foreach (var (id, stream) in _streams)
        {
            var queue = stream.Headers["x-broker-queue"];
            stream.Fail(QueueUnavailableException.AnswerLost(queue).Reply(id, queue));
        }
    }

    /// <summary>A worker's reply (success or failure) for the request it names; ignored when nobody waits any more.</summary>
    public void Reply(Guid requestId, object reply)
    {
        if (_pending.TryGetValue(requestId, out var waiting))
        {
            waiting.TrySetResult(reply);
        }
        else if (reply is InferenceFailed failed && _streams.TryGetValue(requestId, out var stream))
        {
            // a streamed request refused before it started (unknown group, unsupported provider, ...)
            stream.Deliver(new ChatCompletionChunksStreamed { RequestId = requestId, Sequence = 0, Chunks = [], IsLast = true, Error = failed });
        }
    }

    /// <summary>A chunk batch from a worker, for the stream it belongs to (ignored when that stream is gone).</summary>
    public void Deliver(ChatCompletionChunksStreamed batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_streams.TryGetValue(batch.RequestId, out var stream) && stream.Deliver(batch) is { } refused)
        {
            // an attempt the stream will not read from (a redelivery after the client got part of another): stop it
            _ = CancelAttemptAsync(stream.RequestId, refused.WorkerAddress, refused.AttemptId)
                .ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>Tells a worker to stop one attempt (or every attempt when <paramref name="attemptId"/> is null) of a streamed request.</summary>
    private async Task CancelAttemptAsync(Guid requestId, Uri worker, Guid? attemptId)
    {
        // a worker that is gone meanwhile costs nothing (see InstanceEndpoint); a queue that is down is not waited for
        using var sendTimeout = new CancellationTokenSource(QueueSendTimeout);
        try
        {
            await InstanceEndpoint.SendAsync(bus, worker, new CancelChatCompletion { RequestId = requestId, AttemptId = attemptId },
                context => context.TimeToLive = TimeSpan.FromMinutes(1), sendTimeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException || sendTimeout.IsCancellationRequested)
        {
            // the worker's own deadline ends the call
        }
    }

    private async Task<object?> SendAndWaitAsync<T>(
        string queue, T command, Guid requestId, TimeSpan timeout, CancellationToken cancellationToken, bool boundedSend = true)
        where T : class
    {
        if (InferenceSendHook.TakeAdopted(httpContext?.HttpContext) is { } adopted)
        {
            // a repeat of a request whose Ingress died or lost its answer: that request's kept answer, nothing sent
            return adopted;
        }

        var waiting = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = waiting;
        _started[requestId] = (queue, timeProvider.GetTimestamp());
        try
        {
            await SendAsync(queue, command, requestId, timeout, cancellationToken, boundedSend);
            return await waiting.Task.WaitAsync(timeout, timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (QueueUnavailableException unavailable)
        {
            return unavailable.Reply(requestId, queue);
        }
        finally
        {
            _pending.TryRemove(requestId, out _);
            _started.TryRemove(requestId, out _);
        }
    }

    private async Task SendAsync<T>(string queue, T command, Guid requestId, TimeSpan timeout, CancellationToken cancellationToken, bool bounded = true)
        where T : class
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (bounded && !instance.IsReceiving)
        {
            // the answer could not come back (this instance's RabbitMQ connection is down or recovering): refuse now
            throw QueueUnavailableException.NotReceiving(queue);
        }

        // once started, the send completes even if the client leaves meanwhile (an abandoned send would only
        // log a transport fault); the wait for the answer is what the client's cancellation ends. A queue that does
        // not take the command in time (RabbitMQ down) is a quick 503 for a live request, not a hang.
        using var sendTimeout = new CancellationTokenSource();
        if (bounded)
        {
            sendTimeout.CancelAfter(QueueSendTimeout);
        }

        // before the send, so that whatever happens to this process from here on, the call it may have made is on record
        await InferenceSendHook.SendingAsync(httpContext?.HttpContext, requestId, timeProvider.GetUtcNow() + timeout);
        var handedOver = false;
        try
        {
            // the queue's address (on RabbitMQ with quorum queues, declared once per process first); cached once resolved
            if (!_endpoints.TryGetValue(queue, out var cached))
            {
                var address = await queues.QueueAddressAsync(queue, sendTimeout.Token);
                cached = _endpoints.GetOrAdd(queue, _ => bus.GetSendEndpoint(address));
            }

            var endpoint = await cached;
            await endpoint.Send(command, context =>
            {
                // the transport builds the message once it has a channel, right before it publishes: from here on a
                // failure or a timeout (a publish RabbitMQ did not confirm) does not mean the command was not queued
                handedOver = true;
                context.RequestId = requestId;
                context.ResponseAddress = instance.Address;
                // a command nobody picked up before the caller gave up is dropped by the broker, not run late
                context.TimeToLive = timeout;
            }, sendTimeout.Token);
        }
        catch (OperationCanceledException) when (sendTimeout.IsCancellationRequested)
        {
            throw handedOver ? QueueUnavailableException.Unconfirmed(queue) : QueueUnavailableException.SendTimedOut(queue, QueueSendTimeout.TotalSeconds);
        }
        catch (Exception ex) when (bounded && ex is not OperationCanceledException)
        {
            // the transport refused the send (connection closed, channel error): a 503, not a 500; but once the command
            // was being published, RabbitMQ may hold it although it never confirmed it: it may run, so not "safe to retry"
            throw handedOver ? QueueUnavailableException.Unconfirmed(queue, ex) : QueueUnavailableException.SendFailed(queue, ex);
        }
    }

    /// <summary>
    /// The first attempt's step timeout (<see cref="AttemptStep.DueAt"/>), or null when it would not come before the
    /// request's deadline (no deployment of the group has a timeout shorter than the request's).
    /// </summary>
    private DateTimeOffset? FirstStepDueAt(ModelGroup group, string? deploymentId, bool stream, DateTimeOffset now, DateTimeOffset deadline)
    {
        var due = AttemptStep.DueAt(config.Current, group, deploymentId, stream, now, deadline);
        return due < deadline ? due : null;
    }

    /// <summary>
    /// Guards the first attempt like the retry saga guards the ones it sends: when its step is up and it has neither
    /// answered nor started streaming (<paramref name="unanswered"/>), the request is handed to the saga as a timed-out
    /// attempt, which gives the attempt up and sends the next step (or the final error) here, well before the deadline.
    /// Time spent waiting behind a backlog does not use the step up: see <see cref="StepDueAsync"/>.
    /// </summary>
    private ITimer? ArmStepTimeout(CreateChatCompletion command, Func<bool> unanswered)
    {
        if (command.StepDueAt is not { } due)
        {
            return null;
        }

        var sentAt = timeProvider.GetUtcNow();
        var step = due - sentAt;
        ITimer? timer = null;
        timer = timeProvider.CreateTimer(_ =>
        {
            if (unanswered())
            {
                _ = StepDueAsync(command, sentAt, step, unanswered, timer!)
                    .ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }, null, step, System.Threading.Timeout.InfiniteTimeSpan);
        return timer;
    }

    /// <summary>
    /// The first attempt's step is up, unanswered. While its group's queue holds messages waiting for workers that
    /// consume it (a backlog, per a passive declare of the queue), the attempt is most likely still waiting its turn, which
    /// must not cost it its place: the step starts over (and again, up to the request's deadline). Otherwise — nobody
    /// consumes the queue, nothing waits in it (so a worker has the attempt), or depths are unknown — the attempt is
    /// handed to the saga as timed out.
    /// </summary>
    private async Task StepDueAsync(CreateChatCompletion command, DateTimeOffset sentAt, TimeSpan step, Func<bool> unanswered, ITimer timer)
    {
        if (timeProvider.GetUtcNow() + step < command.Deadline && await BacklogAsync(ModelGroup.QueueNameFor(command.ModelGroup)))
        {
            try
            {
                timer.Change(step, System.Threading.Timeout.InfiniteTimeSpan);
                return;
            }
            catch (ObjectDisposedException)
            {
                // the request ended meanwhile
                return;
            }
        }

        if (unanswered())
        {
            await ReportStepTimeoutAsync(command, timeProvider.GetUtcNow() - sentAt);
        }
    }

    /// <summary>Whether <paramref name="queue"/> has messages ready and consumers, now (exact, over AMQP).</summary>
    private Task<bool> BacklogAsync(string queue) => backlog?.HasBacklogAsync(queue) ?? Task.FromResult(false);

    private async Task ReportStepTimeoutAsync(CreateChatCompletion command, TimeSpan waited)
    {
        var report = new ChatCompletionAttemptFailed
        {
            RequestId = command.RequestId,
            Command = command,
            ResponseAddress = instance.Address,
            Error = new InferenceFailed
            {
                RequestId = command.RequestId,
                StatusCode = 408,
                ErrorClass = ProviderErrorClass.Timeout,
                Message = string.Create(CultureInfo.InvariantCulture,
                    $"Attempt 1 on model group '{command.ModelGroup}' got no answer within {waited.TotalSeconds:0.#} s"),
                Type = "timeout",
                Code = "timeout",
            },
            TimedOut = true,
            AttemptMs = waited.TotalMilliseconds,
        };
        // the client's own timeout still applies when the saga's queue cannot be reached in time
        using var sendTimeout = new CancellationTokenSource(QueueSendTimeout);
        var saga = await bus.GetSendEndpoint(await queues.QueueAddressAsync(RetrySagaQueue, sendTimeout.Token));
        await saga.Send(report, sendTimeout.Token);
    }

    /// <summary>An error answer; it names the request (<c>x-litellm-call-id</c>) like a success does, for <c>GET /request/{id}</c>.</summary>
    private static ChatCompletionOutcome Failed(object? reply, ModelGroup group, Guid requestId, TimeSpan timeout) => reply switch
    {
        InferenceFailed failed => new ChatCompletionOutcome(
            (string?)null,
            new OpenAiErrorResult(failed.StatusCode, failed.Message, failed.Type, failed.Param, failed.Code) { RetryAfterSeconds = failed.RetryAfterSeconds },
            new Dictionary<string, string>
            {
                ["x-broker-queue"] = failed.Queue ?? group.QueueName,
                ["x-litellm-call-id"] = failed.RequestId.ToString(),
            }),
        _ => new ChatCompletionOutcome((string?)null, OpenAiErrorResult.Timeout(timeout), new Dictionary<string, string>
        {
            ["x-broker-queue"] = group.QueueName,
            ["x-litellm-call-id"] = requestId.ToString(),
        }),
    };

    private void Record(string route, ModelGroup group, object? reply, long started)
    {
        var elapsed = timeProvider.GetElapsedTime(started);
        switch (reply)
        {
            case ChatCompletionSucceeded ok:
                metrics.RequestFinished(route, group.Name, ok.DeploymentId, 200, elapsed);
                metrics.Tokens(group.Name, ok.DeploymentId, ok.Usage.PromptTokens, ok.Usage.CompletionTokens);
                break;
            case EmbeddingSucceeded ok:
                metrics.RequestFinished(route, group.Name, ok.DeploymentId, 200, elapsed);
                metrics.Tokens(group.Name, ok.DeploymentId, ok.Usage.PromptTokens, 0);
                break;
            case RerankSucceeded ok:
                metrics.RequestFinished(route, group.Name, ok.DeploymentId, 200, elapsed);
                metrics.Tokens(group.Name, ok.DeploymentId, ok.Usage.PromptTokens, 0);
                break;
            case InferenceFailed failed:
                metrics.RequestFinished(route, group.Name, failed.DeploymentId, failed.StatusCode, elapsed, failed.ErrorClass.ToString());
                break;
            default:
                metrics.RequestFinished(route, group.Name, null, 504, elapsed, "Timeout");
                break;
        }
    }

    private async ValueTask EndStreamAsync(ChatCompletionStream stream)
    {
        _streams.TryRemove(stream.RequestId, out _);
        stream.Headers.TryGetValue("x-litellm-model-id", out var deployment);
        var status = stream.FailedStatus ?? (stream.Finished ? 200 : 499);
        metrics.RequestFinished("chat-stream", stream.ModelGroup, deployment, status, timeProvider.GetElapsedTime(stream.StartedTimestamp),
            stream.FailedStatus is null ? null : "StreamFailed");
        if (stream.FirstChunkTimestamp != 0)
        {
            metrics.TimeToFirstToken(stream.ModelGroup, deployment, timeProvider.GetElapsedTime(stream.StartedTimestamp, stream.FirstChunkTimestamp));
        }

        if (stream.Usage is { } usage)
        {
            metrics.Tokens(stream.ModelGroup, deployment, usage.Input, usage.Output);
        }

        if ((!stream.Finished || stream.Interrupted) && stream.WorkerAddress is { } worker)
        {
            await CancelAttemptAsync(stream.RequestId, worker, stream.AttemptId);
        }
    }
}
