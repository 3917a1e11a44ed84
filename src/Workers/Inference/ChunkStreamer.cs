using System.Text.Json.Nodes;
using System.Threading.Channels;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Providers;

namespace Broker.Workers.Inference;

/// <summary>
/// Forwards a provider's chunks to the Ingress instance that holds the client: each chunk is sent as soon as
/// it arrives; chunks that arrive while a send is in flight go together in the next batch. A request sent with an
/// <c>Idempotency-Key</c> (<see cref="KeepAnswerSeconds"/>) has its whole stream kept (<see cref="KeptAnswers"/>) once it
/// ended, before the last batch goes out, so a repeat whose Ingress died or lost the stream gets it replayed.
/// </summary>
public sealed class ChunkStreamer(InstanceTarget destination, Guid requestId, Uri workerAddress, string modelGroup, string deploymentId, string queue)
{
    private int _sequence;

    /// <summary>Time to the first chunk sent, once there was one.</summary>
    public TimeSpan? TimeToFirstChunk { get; private set; }

    public TokenUsage Usage { get; private set; } = new() { PromptTokens = 0, CompletionTokens = 0 };

    /// <summary>This consume of the command (a redelivery gets a new one), on every batch.</summary>
    public Guid AttemptId { get; init; } = Guid.NewGuid();

    /// <summary>Retries before this attempt, told to the Ingress on the first batch.</summary>
    public int AttemptedRetries { get; init; }

    /// <summary>Fallback groups moved to before this attempt, told on the first batch.</summary>
    public int AttemptedFallbacks { get; init; }

    /// <summary>The request's messages, to count the prompt's tokens when the provider reports no usage.</summary>
    public JsonArray? PromptMessages { get; init; }

    /// <summary>Where the stream is kept for a repeat of the request (with <see cref="KeepAnswerSeconds"/>); null: not kept.</summary>
    public KeptAnswers? Answers { get; init; }

    /// <summary>How long the whole stream is kept (the command's <c>KeepAnswerSeconds</c>); null: not kept.</summary>
    public int? KeepAnswerSeconds { get; init; }

    // every chunk sent so far, in order, when the stream is kept
    private readonly List<string> _sent = [];
    private bool _kept;

    private readonly System.Text.StringBuilder _text = new();
    private bool _providerReportedUsage;
    private TokenUsage? _counted;

    /// <summary>Streams until the provider ends; a mid-stream provider failure ends the stream with an error batch.</summary>
    public async Task<ProviderError?> RunAsync(IAsyncEnumerable<JsonObject> chunks, TimeProvider timeProvider, long started, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(async () =>
        {
            try
            {
                await foreach (var chunk in chunks.WithCancellation(cancellationToken))
                {
                    if (chunk["choices"] is JsonArray { Count: > 0 } choices && choices[0]?["delta"]?["content"] is JsonValue content &&
                        content.TryGetValue<string>(out var text))
                    {
                        _text.Append(text);
                    }

                    if (Providers.Anthropic.AnthropicPassThrough.UsageOf(chunk) is var (input, output) && (input ?? output) is not null)
                    {
                        _providerReportedUsage = true;
                        Usage = new TokenUsage { PromptTokens = input ?? Usage.PromptTokens, CompletionTokens = output ?? Usage.CompletionTokens };
                    }
                    else if (chunk["usage"] is JsonObject usage)
                    {
                        _providerReportedUsage = true;
                        Usage = new TokenUsage
                        {
                            PromptTokens = usage["prompt_tokens"]?.GetValue<int>() ?? 0,
                            CompletionTokens = usage["completion_tokens"]?.GetValue<int>() ?? 0,
                            CachedPromptTokens = usage["prompt_tokens_details"]?["cached_tokens"] is JsonValue cached && cached.TryGetValue<int>(out var c) ? c : 0,
                        };
                    }

                    TimeToFirstChunk ??= timeProvider.GetElapsedTime(started);
                    await channel.Writer.WriteAsync(chunk.ToJsonString(), cancellationToken);
                }

                channel.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                channel.Writer.TryComplete(ex);
            }
        }, cancellationToken);

        var batch = new List<string>();
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken))
            {
                while (batch.Count < 256 && channel.Reader.TryRead(out var chunk))
                {
                    batch.Add(chunk);
                }

                if (batch.Count > 0)
                {
                    await SendAsync(batch, isLast: false, error: null, cancellationToken);
                    batch = [];
                }
            }
        }
        catch (ProviderStreamException ex)
        {
            await SendAsync(batch, isLast: true, ex.Error, cancellationToken);
            await producer;
            return ex.Error;
        }

        await producer;
        await SendAsync(batch, isLast: true, error: null, cancellationToken);
        return null;
    }

    /// <summary>Usage as reported, else counted with the tokenizer from the prompt and the streamed text.</summary>
    /// <summary>The content streamed so far.</summary>
    public string Text => _text.ToString();

    public TokenUsage UsageOrCounted(JsonArray? messages, CancellationToken cancellationToken) =>
        _providerReportedUsage ? Usage : _counted ??= new TokenUsage
        {
            PromptTokens = TokenCounter.CountMessages(messages, cancellationToken),
            CompletionTokens = TokenCounter.Count(_text.ToString(), cancellationToken),
        };

    /// <summary>The provider failed before streaming anything: one last batch with the error.</summary>
    public Task FailAsync(ProviderError error, CancellationToken cancellationToken) =>
        SendAsync([], isLast: true, error, cancellationToken);

    private async Task SendAsync(IReadOnlyList<string> chunks, bool isLast, ProviderError? error, CancellationToken cancellationToken)
    {
        var sequence = _sequence++;
        var batch = new ChatCompletionChunksStreamed
        {
            RequestId = requestId,
            Sequence = sequence,
            AttemptId = AttemptId,
            Chunks = chunks,
            IsLast = isLast,
            WorkerAddress = sequence == 0 ? workerAddress : null,
            Usage = isLast ? UsageOrCounted(PromptMessages, cancellationToken) : null,
            DeploymentId = sequence == 0 ? deploymentId : null,
            ModelGroup = sequence == 0 ? modelGroup : null,
            Queue = sequence == 0 ? queue : null,
            AttemptedRetries = sequence == 0 ? AttemptedRetries : 0,
            AttemptedFallbacks = sequence == 0 ? AttemptedFallbacks : 0,
            Error = error is null ? null : new InferenceFailed
            {
                RequestId = requestId,
                StatusCode = error.StatusCode,
                ErrorClass = error.Class,
                Message = error.Message,
                Type = error.Type,
                Code = error.Code,
                RetryAfterSeconds = error.RetryAfterSeconds,
                DeploymentId = deploymentId,
                Queue = queue,
            },
        };

        if (Answers is not null && KeepAnswerSeconds is > 0)
        {
            _sent.AddRange(chunks);
            if (isLast && !_kept)
            {
                // the stream as its client gets it, in one batch, kept before its end goes out (a repeat of the request
                // replays it when this batch never reaches the client)
                _kept = true;
                await Answers.KeepAsync(requestId, batch with
                {
                    Sequence = 0,
                    AttemptId = null,
                    Chunks = _sent,
                    WorkerAddress = null,
                    DeploymentId = deploymentId,
                    ModelGroup = modelGroup,
                    Queue = queue,
                    AttemptedRetries = AttemptedRetries,
                    AttemptedFallbacks = AttemptedFallbacks,
                }, KeepAnswerSeconds);
            }
        }

        // the reply queue belongs to one Ingress instance and lives as long as it does: no need for disk
        await destination.SendAsync(batch, context => context.Durable = false, cancellationToken);
    }
}
