using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Ingress.Errors;
using MassTransit;

namespace Broker.Ingress.Inference;

/// <summary>
/// Sends chat completions to a model group's queue. Non-streamed: MassTransit request/response within the
/// configured timeout. Streamed: the command names this instance's bus address as ResponseAddress, and the
/// worker's chunk batches come back there (<see cref="Deliver"/>).
/// </summary>
public sealed class InferenceClient(IClientFactory clientFactory, IBus bus, IProxyConfigProvider config, TimeProvider timeProvider)
{
    /// <summary>LiteLLM's default request timeout (600 s) when neither router_settings.timeout nor request_timeout is set.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(600);

    private readonly ConcurrentDictionary<string, IRequestClient<CreateChatCompletion>> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IRequestClient<CreateEmbedding>> _embeddingClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, ChatCompletionStream> _streams = new();

    public TimeSpan Timeout => config.Current.RouterSettings.Timeout ?? DefaultTimeout;

    /// <summary>Time allowed until the first streamed token: stream_timeout, else the request timeout.</summary>
    public TimeSpan StreamTimeout => config.Current.RouterSettings.StreamTimeout ?? Timeout;

    public Task<Response<ChatCompletionSucceeded, InferenceFailed>> CreateChatCompletionAsync(
        ModelGroup group, string requestedModel, string body, string? deploymentId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        var client = _clients.GetOrAdd(group.QueueName, queue =>
            clientFactory.CreateRequestClient<CreateChatCompletion>(new Uri($"queue:{queue}"), RequestTimeout.After(m: 10)));
        var command = new CreateChatCompletion
        {
            RequestId = NewId.NextGuid(),
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = body,
            Deadline = timeProvider.GetUtcNow() + timeout,
            DeploymentId = deploymentId,
        };
        return client.GetResponse<ChatCompletionSucceeded, InferenceFailed>(
            command,
            x => x.UseExecute(context => context.TimeToLive = timeout),
            cancellationToken,
            RequestTimeout.After(ms: (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds)));
    }

    /// <summary>A non-streamed chat completion of an OpenAI-shaped request, with Broker's response headers.</summary>
    public Task<ChatCompletionOutcome> CompleteAsync(ModelGroup group, string requestedModel, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return CompleteAsync(group, requestedModel, request.ToJsonString(), cancellationToken);
    }

    /// <summary>A non-streamed chat completion of an OpenAI request given as JSON text (sent on unchanged).</summary>
    public async Task<ChatCompletionOutcome> CompleteAsync(ModelGroup group, string requestedModel, string request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        var started = timeProvider.GetTimestamp();
        var timeout = Timeout;
        Response<ChatCompletionSucceeded, InferenceFailed> response;
        try
        {
            response = await CreateChatCompletionAsync(group, requestedModel, request, null, timeout, cancellationToken);
        }
        catch (RequestTimeoutException)
        {
            return new ChatCompletionOutcome((string?)null, OpenAiErrorResult.Timeout(timeout), new Dictionary<string, string> { ["x-broker-queue"] = group.QueueName });
        }

        if (response.Is(out Response<InferenceFailed>? failedResponse))
        {
            return Failed(failedResponse.Message, group);
        }

        if (!response.Is(out Response<ChatCompletionSucceeded>? succeededResponse))
        {
            throw new InvalidOperationException("The worker's reply was neither success nor failure");
        }

        var succeeded = succeededResponse.Message;
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["x-litellm-model-id"] = succeeded.DeploymentId,
            ["x-litellm-model-group"] = succeeded.ModelGroup,
            ["x-litellm-call-id"] = succeeded.RequestId.ToString(),
            ["x-broker-queue"] = succeeded.Queue,
            ["x-litellm-response-duration-ms"] = timeProvider.GetElapsedTime(started).TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture),
        };
        return new ChatCompletionOutcome(succeeded.Body, null, headers);
    }

    /// <summary>Embeddings of an OpenAI-shaped request through the group's queue, with Broker's response headers.</summary>
    public async Task<ChatCompletionOutcome> EmbedAsync(ModelGroup group, string requestedModel, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        var timeout = Timeout;
        var client = _embeddingClients.GetOrAdd(group.QueueName, queue =>
            clientFactory.CreateRequestClient<CreateEmbedding>(new Uri($"queue:{queue}"), RequestTimeout.After(m: 10)));
        var command = new CreateEmbedding
        {
            RequestId = NewId.NextGuid(),
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = request.ToJsonString(),
            Deadline = timeProvider.GetUtcNow() + timeout,
        };
        Response<EmbeddingSucceeded, InferenceFailed> response;
        try
        {
            response = await client.GetResponse<EmbeddingSucceeded, InferenceFailed>(
                command,
                x => x.UseExecute(context => context.TimeToLive = timeout),
                cancellationToken,
                RequestTimeout.After(ms: (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds)));
        }
        catch (RequestTimeoutException)
        {
            return new ChatCompletionOutcome((string?)null, OpenAiErrorResult.Timeout(timeout), new Dictionary<string, string> { ["x-broker-queue"] = group.QueueName });
        }

        if (response.Is(out Response<InferenceFailed>? failed))
        {
            return Failed(failed.Message, group);
        }

        if (!response.Is(out Response<EmbeddingSucceeded>? succeeded))
        {
            throw new InvalidOperationException("The worker's reply was neither success nor failure");
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["x-litellm-model-id"] = succeeded.Message.DeploymentId,
            ["x-litellm-model-group"] = succeeded.Message.ModelGroup,
            ["x-litellm-call-id"] = succeeded.Message.RequestId.ToString(),
            ["x-broker-queue"] = succeeded.Message.Queue,
        };
        return new ChatCompletionOutcome(succeeded.Message.Body, null, headers);
    }

    private static ChatCompletionOutcome Failed(InferenceFailed failed, ModelGroup group) =>
        new(
            (string?)null,
            new OpenAiErrorResult(failed.StatusCode, failed.Message, failed.Type, failed.Param, failed.Code) { RetryAfterSeconds = failed.RetryAfterSeconds },
            new Dictionary<string, string> { ["x-broker-queue"] = failed.Queue ?? group.QueueName });

    /// <summary>
    /// Starts a streamed chat completion; read it with <see cref="ChatCompletionStream.ReadAllAsync"/> and
    /// dispose it when done (disposing early cancels the upstream call).
    /// </summary>
    public async Task<ChatCompletionStream> StreamAsync(ModelGroup group, string requestedModel, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        var requestId = NewId.NextGuid();
        var stream = new ChatCompletionStream(requestId, group.Name, group.QueueName, EndStreamAsync);
        _streams[requestId] = stream;
        var timeout = Timeout;
        var command = new CreateChatCompletion
        {
            RequestId = requestId,
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = request.ToJsonString(),
            Deadline = timeProvider.GetUtcNow() + timeout,
            Stream = true,
        };
        var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{group.QueueName}"));
        await endpoint.Send(command, context =>
        {
            context.RequestId = requestId;
            context.ResponseAddress = bus.Address;
            context.TimeToLive = timeout;
        }, cancellationToken);
        return stream;
    }

    /// <summary>A chunk batch from a worker, for the stream it belongs to (ignored when that stream is gone).</summary>
    public void Deliver(ChatCompletionChunksStreamed batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_streams.TryGetValue(batch.RequestId, out var stream))
        {
            stream.Deliver(batch);
        }
    }

    private async ValueTask EndStreamAsync(ChatCompletionStream stream)
    {
        _streams.TryRemove(stream.RequestId, out _);
        if (!stream.Finished && stream.WorkerAddress is { } worker)
        {
            var endpoint = await bus.GetSendEndpoint(worker);
            await endpoint.Send(new CancelChatCompletion { RequestId = stream.RequestId }, context => context.TimeToLive = TimeSpan.FromMinutes(1));
        }
    }
}
