using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Pricing;
using Broker.Workers.Providers;
using Broker.Workers.Providers.Anthropic;
using Broker.Workers.Retries;
using Broker.Workers.Routing;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Inference;

/// <summary>
/// Consumes one model group's queue: picks a deployment, calls its provider, replies, records usage. A failure that a
/// retry or fallback may fix is handed to the retry saga (<see cref="ChatCompletionRetryStateMachine"/>) instead of
/// being answered; a retry attempt that succeeds answers the caller itself and tells the saga.
/// </summary>
public sealed class CreateChatCompletionConsumer(
    IProxyConfigProvider config,
    DeploymentRouter router,
    ProviderResolver providers,
    StreamCancellations cancellations,
    InstanceEndpoint instance,
    DelayedSend delayedSend,
    RetrySagaStore retries,
    TimeProvider timeProvider,
    KeptAnswers answers,
    AttemptReporting reporting,
    ILogger<CreateChatCompletionConsumer> logger) : IConsumer<CreateChatCompletion>
{
    /// <summary>A command this little early is waited for in the consumer rather than sent back to a wait queue.</summary>
    private static readonly TimeSpan ShortestBrokerWait = TimeSpan.FromMilliseconds(100);

    /// <summary>Why a retry or fallback this message could have had was not tried (the saga's store is unreachable); null otherwise.</summary>
    private string? _handOverRefused;

    public async Task Consume(ConsumeContext<CreateChatCompletion> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var message = context.Message;
        var queue = InferenceSteps.QueueOf(context);
        var remaining = message.Deadline - timeProvider.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        if (message.Retry?.NotBefore is { } notBefore && notBefore - timeProvider.GetUtcNow() is { } wait && wait > TimeSpan.Zero)
        {
            // too early (a wait longer than the broker's longest step, or clocks apart): back to wait in the broker, the
            // slot free meanwhile; only a wait too short to matter, or one the broker cannot hold, is waited out here
            // (unacknowledged, so a worker that dies meanwhile loses nothing)
            if (wait > ShortestBrokerWait && await delayedSend.TrySendAsync(context, queue, message, wait, s =>
                {
                    s.RequestId = message.RequestId;
                    s.ResponseAddress = context.ResponseAddress;
                }, context.CancellationToken))
            {
                return;
            }

            await Task.Delay(wait < remaining ? wait : remaining, timeProvider, context.CancellationToken);
        }

        // an attempt sent by the retry saga runs once: a second copy (the saga sent it again after a crash) or one the
        // saga gave up on (its step timed out) is dropped; a redelivery of this very message is not a copy
        if (message.Retry is { } retry &&
            !await retries.StartAttemptAsync(message.RequestId, retry.Attempt, AttemptOwner(context), message.Deadline))
        {
            Log.AttemptTaken(logger, message.RequestId, retry.Attempt, message.ModelGroup);
            return;
        }

        // a first attempt picked up this late may have been given up on by the Ingress (its step timed out): it runs
        // only if it can take its ticket (attempt 0) before the saga does
        if (message.Retry is null && FirstStepLate(message) &&
            !await retries.StartAttemptAsync(message.RequestId, 0, AttemptOwner(context), message.Deadline))
        {
            Log.AttemptTaken(logger, message.RequestId, 0, message.ModelGroup);
            return;
        }

        if ((message.Retry?.AttemptedFallbacks ?? 0) == 0 && message.DeploymentId is null &&
            message.Body.Contains("mock_testing_fallbacks", StringComparison.Ordinal) &&
            RetryRequestOptions.Parse(message.Body, message.ModelGroup).MockTestingFallbacks)
        {
            var mock = new ProviderError(ProviderErrorClass.InternalServerError, 500,
                $"This is a mock exception for model group '{message.ModelGroup}', to trigger a fallback (mock_testing_fallbacks).");
            await FailOrHandOver(context, queue, null, mock, fallbackOnly: true);
            await PublishAttempt(context, message.ModelGroup, null, mock, 0);
            return;
        }

        var (prepared, invalid, deploymentId) = await InferenceSteps.PrepareAsync(
            config.Current, router, message.ModelGroup, message.DeploymentId, message.RequestId, message.Deadline, message.Body, context.CancellationToken,
            message.Retry?.AvoidDeploymentIds, message.Caller?.Tags);
        if (invalid is not null)
        {
            await FailOrHandOver(context, queue, deploymentId, invalid);
            await PublishAttempt(context, message.ModelGroup, deploymentId, invalid, 0);
            return;
        }

        await InferenceSteps.CallLeasedAsync(router, context, prepared!, outcome => CallAsync(context, queue, prepared!, outcome));
    }

    private async Task CallAsync(ConsumeContext<CreateChatCompletion> context, string queue, PreparedRequest prepared, CallOutcome outcome)
    {
        var message = context.Message;
        var (group, deployment, clientRequest, _) = prepared;
        var providerModel = ChatRequestBuilder.ProviderModel(group, deployment, message.RequestedModel);
        var passThrough = message.Format == AnthropicPassThrough.Format;
        ProviderError? unsupported = null;
        var request = passThrough
            ? AnthropicPassThrough.Prepare(clientRequest, providerModel)
            : ChatRequestBuilder.Build(clientRequest, deployment, providerModel, config.Current.LitellmSettings.DropParams, checkParams: true, out unsupported);
        if (unsupported is not null)
        {
            await FailOrHandOver(context, queue, deployment.Id, unsupported);
            await PublishAttempt(context, group.Name, deployment.Id, unsupported, 0);
            return;
        }

        var provider = passThrough
            ? providers.ResolvePassThrough(deployment)
            : providers.Resolve(deployment, request.ContainsKey("mock_response"));
        if (provider is null)
        {
            var notServed = InferenceSteps.Unsupported(deployment, passThrough ? "Anthropic Messages pass-through" : "chat completions");
            await FailOrHandOver(context, queue, deployment.Id, notServed);
            await PublishAttempt(context, group.Name, deployment.Id, notServed, 0);
            return;
        }

        var remaining = message.Deadline - timeProvider.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        using var deadline = new CancellationTokenSource(remaining, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, deadline.Token);
        var started = timeProvider.GetTimestamp();
        var call = new ProviderCall(deployment, providerModel, request, message.RequestedModel);
        if (message.Stream)
        {
            await StreamAsync(context, group.Name, deployment.Id, deployment.Provider, provider, call, queue, linked, deadline, outcome);
            return;
        }

        ProviderResult result;
        try
        {
            result = await provider.CompleteAsync(call, linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        // the caller hears first; the usage event follows (it does not hold up the answer)
        var elapsedMs = timeProvider.GetElapsedTime(started).TotalMilliseconds;
        outcome.Finish(result.Usage, elapsedMs, result.Error);
        var cost = CostCalculator.Cost(deployment, result.Usage, failed: result.Error is not null);
        if (result.Error is { } error)
        {
            Log.Failed(logger, message.RequestId, group.Name, deployment.Id, deployment.Provider, error.Class.ToString(), error.StatusCode, error.Message);
            if (await FailOrHandOver(context, queue, deployment.Id, error, elapsedMs: elapsedMs))
            {
                // a retry or fallback answers the request; its outcome is the request's one usage event (or the
                // saga's, when every step failed), so this attempt records none; it is still an attempt in the history
                await PublishAttempt(context, group.Name, deployment.Id, error, elapsedMs);
                return;
            }
        }
        else
        {
            if (!await ClaimAnswerAsync(context, group.Name, deployment.Id))
            {
                return;
            }

            Log.Completed(logger, message.RequestId, group.Name, deployment.Id, deployment.Provider, elapsedMs);
            await InferenceSteps.Reply(context, message.RequestId, new ChatCompletionSucceeded
            {
                RequestId = message.RequestId,
                Body = result.Completion!.ToJsonString(),
                ModelGroup = group.Name,
                DeploymentId = deployment.Id,
                Provider = deployment.Provider,
                Queue = queue,
                Usage = result.Usage,
                Cost = cost,
                AttemptedRetries = message.Retry?.AttemptedRetries ?? 0,
                AttemptedFallbacks = message.Retry?.AttemptedFallbacks ?? 0,
            }, answers, message.KeepAnswerSeconds);
            await ReportSuccess(context, group.Name, deployment.Id);
        }

        await PublishUsage(context, group.Name, deployment.Id, deployment.Provider, result.Usage, elapsedMs, null, result.Error, cost,
            Stored(clientRequest, () => result.Completion?.ToJsonString()),
            result.Completion?["model"] is JsonValue model && model.TryGetValue<string>(out var answered) ? answered : null);
    }

    private async Task StreamAsync(
        ConsumeContext<CreateChatCompletion> context,
        string groupName,
        string deploymentId,
        string providerName,
        IChatProvider provider,
        ProviderCall call,
        string queue,
        CancellationTokenSource linked,
        CancellationTokenSource deadline,
        CallOutcome outcome)
    {
        var message = context.Message;
        if (context.ResponseAddress is not { } replyTo)
        {
            return;
        }

        var started = timeProvider.GetTimestamp();
        var attemptId = NewId.NextGuid();
        var streamer = new ChunkStreamer(await InstanceEndpoint.ResolveAsync(context, replyTo), message.RequestId, instance.Address, groupName, deploymentId, queue)
        {
            AttemptId = attemptId,
            AttemptedRetries = message.Retry?.AttemptedRetries ?? 0,
            AttemptedFallbacks = message.Retry?.AttemptedFallbacks ?? 0,
            PromptMessages = call.Request["messages"] as JsonArray,
            Answers = answers,
            KeepAnswerSeconds = message.KeepAnswerSeconds,
        };
        cancellations.Add(message.RequestId, attemptId, linked);
        ProviderError? error;
        try
        {
            var stream = await provider.StreamAsync(call, linked.Token);
            if (stream.Error is { } startError)
            {
                // nothing was sent to the client yet: a retry or fallback may still answer it
                error = startError;
                if (await TryHandOver(context, queue, deploymentId, startError, fallbackOnly: false,
                        timeProvider.GetElapsedTime(started).TotalMilliseconds))
                {
                    // a retry or fallback answers the request and records its usage (see the non-streamed path)
                    Log.Failed(logger, message.RequestId, groupName, deploymentId, providerName, startError.Class.ToString(), startError.StatusCode, startError.Message);
                    outcome.Finish(new TokenUsage { PromptTokens = 0, CompletionTokens = 0 }, timeProvider.GetElapsedTime(started).TotalMilliseconds, startError);
                    await PublishAttempt(context, groupName, deploymentId, startError, timeProvider.GetElapsedTime(started).TotalMilliseconds);
                    return;
                }

                await streamer.FailAsync(Explained(startError), context.CancellationToken);
            }
            else if (!await ClaimAnswerAsync(context, groupName, deploymentId))
            {
                // nothing reached the client from this attempt, and nothing will: another one answers it
                outcome.Finish(new TokenUsage { PromptTokens = 0, CompletionTokens = 0 }, timeProvider.GetElapsedTime(started).TotalMilliseconds, null);
                await linked.CancelAsync();
                await DiscardAsync(stream.Chunks!, linked.Token);
                return;
            }
            else
            {
                error = await streamer.RunAsync(stream.Chunks!, timeProvider, started, linked.Token);
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // the client left (CancelChatCompletion) or the deadline passed: the slot is free again
            Log.StreamCancelled(logger, message.RequestId, groupName, deadline.IsCancellationRequested ? "deadline passed" : "client disconnected");
            error = new ProviderError(ProviderErrorClass.Timeout, 499, "cancelled");
        }
        finally
        {
            cancellations.Remove(message.RequestId, attemptId);
        }

        var elapsedMs = timeProvider.GetElapsedTime(started).TotalMilliseconds;
        if (error is not null)
        {
            Log.Failed(logger, message.RequestId, groupName, deploymentId, providerName, error.Class.ToString(), error.StatusCode, error.Message);
        }

        if (error is null)
        {
            await ReportSuccess(context, groupName, deploymentId);
        }

        var usage = streamer.UsageOrCounted(call.Request["messages"] as JsonArray, context.CancellationToken);
        outcome.Finish(usage, streamer.TimeToFirstChunk?.TotalMilliseconds ?? elapsedMs, error);
        await PublishUsage(context, groupName, deploymentId, providerName, usage, elapsedMs, streamer.TimeToFirstChunk?.TotalMilliseconds, error,
            CostCalculator.Cost(call.Deployment, usage, failed: error is not null),
            Stored(call.Request, () => System.Text.Json.JsonSerializer.Serialize(streamer.Text)));
    }

    /// <summary>general_settings.store_prompts_in_spend_logs: the messages and the answer go with the usage event.</summary>
    private (string? Messages, string? Response) Stored(JsonObject request, Func<string?> response) =>
        config.Current.GeneralSettings.StorePromptsInSpendLogs
            ? ((request["messages"] ?? request["input"] ?? request["prompt"])?.ToJsonString(), response())
            : default;

    private async Task PublishUsage(
        ConsumeContext<CreateChatCompletion> context, string groupName, string deploymentId, string providerName,
        TokenUsage usage, double elapsedMs, double? timeToFirstTokenMs, ProviderError? error, decimal? cost,
        (string? Messages, string? Response) stored, string? responseModel = null)
    {
        if (context.Message.HealthCheck)
        {
            return;
        }

        var attempt = await AttemptReport.ForUsageAsync(context, reporting, AttemptReport.Create(context.Message.RequestId, context.Message.Retry,
            groupName, deploymentId, error, elapsedMs, healthCheck: false, context.Message.Caller, timeProvider.GetUtcNow()));
        await InferenceSteps.PublishUsage(context, context.Message.RequestId, groupName, deploymentId, providerName,
            usage, elapsedMs, timeToFirstTokenMs, error, timeProvider.GetUtcNow(), context.Message.Caller, cost, stored, responseModel: responseModel,
            guardrails: context.Message.Guardrails, attempt: attempt);
    }

    /// <summary>The attempt history's event for this attempt (<see cref="AttemptReport"/>).</summary>
    private Task PublishAttempt(ConsumeContext<CreateChatCompletion> context, string groupName, string? deploymentId, ProviderError? error, double elapsedMs) =>
        AttemptReport.PublishAsync(context, context.Message.RequestId, context.Message.Retry, groupName, deploymentId, error, elapsedMs,
            context.Message.HealthCheck, context.Message.Caller, timeProvider.GetUtcNow());

    /// <summary>
    /// Hands the failure to the retry saga when a retry or fallback is left (true), else answers the caller with it.
    /// </summary>
    private async Task<bool> FailOrHandOver(
        ConsumeContext<CreateChatCompletion> context, string queue, string? deploymentId, ProviderError error, bool fallbackOnly = false, double elapsedMs = 0)
    {
        if (await TryHandOver(context, queue, deploymentId, error, fallbackOnly, elapsedMs))
        {
            return true;
        }

        await InferenceSteps.RespondFailed(context, context.Message.RequestId, queue, deploymentId, Explained(error), answers, context.Message.KeepAnswerSeconds);
        return false;
    }

    /// <summary>The failure as answered: saying that no retry or fallback was tried, and why, when the saga's store was down.</summary>
    private ProviderError Explained(ProviderError error) =>
        _handOverRefused is { } reason ? error with { Message = $"{error.Message} (no retry or fallback was tried: {reason})" } : error;

    /// <summary>
    /// A failed attempt goes to the saga when it is already a retry (the saga ends it, listing every attempt) or when
    /// the planner has a retry or fallback for it; a first attempt with nothing left is answered here, without a saga.
    /// </summary>
    private async Task<bool> TryHandOver(
        ConsumeContext<CreateChatCompletion> context, string queue, string? deploymentId, ProviderError error, bool fallbackOnly, double elapsedMs)
    {
        var message = context.Message;
        if (context.ResponseAddress is not { } replyTo)
        {
            return false;
        }

        if (!await MayAnswerAsync(context))
        {
            // the saga gave up on this attempt (its step timed out) and moved on, or has ended: a late failure report
            // would recreate a finished saga and plan a step nobody waits for. Nothing to answer, nothing to bill.
            Log.LateAnswer(logger, message.RequestId, message.Retry?.Attempt ?? 0, message.ModelGroup, deploymentId ?? "");
            return true;
        }

        var failed = InferenceSteps.ToFailed(message.RequestId, queue, deploymentId, error);
        // every deployment cooling down: retrying the group now cannot help, its fallbacks may
        fallbackOnly |= error.Code == "no_deployments_available";
        if (message.Retry is null &&
            !RetryPlanner.CanContinue(config.Current, RetryRequestOptions.Parse(message.Body, message.ModelGroup), message, failed, fallbackOnly,
                timeProvider.GetUtcNow(), TimeSpan.FromMilliseconds(elapsedMs)))
        {
            return false;
        }

        if (message.Retry is null && retries.Unreachable() is { } reason)
        {
            // the saga could neither store this request nor answer it: a clear error now, not a report that is
            // dead-lettered while the client waits for its timeout
            _handOverRefused = reason;
            return false;
        }

        var saga = await context.GetSendEndpoint(await delayedSend.QueueAddressAsync(ChatCompletionRetryStateMachine.QueueName, context.CancellationToken));
        await saga.Send(new ChatCompletionAttemptFailed
        {
            RequestId = message.RequestId,
            Command = message,
            ResponseAddress = replyTo,
            Error = failed,
            FallbackOnly = fallbackOnly,
            AttemptMs = elapsedMs,
        }, context.CancellationToken);
        return true;
    }

    /// <summary>The owner of a saga-sent attempt: the message (RabbitMQ redelivers it with the same id).</summary>
    private static Guid AttemptOwner(ConsumeContext context) => context.MessageId ?? context.RequestId ?? Guid.Empty;

    /// <summary>
    /// A retry or fallback attempt is about to answer: true when it still may (always for a first attempt); false when
    /// the retry saga gave up on it meanwhile, so another attempt answers the caller and this answer is neither sent
    /// nor billed.
    /// </summary>
    private async Task<bool> ClaimAnswerAsync(ConsumeContext<CreateChatCompletion> context, string groupName, string deploymentId)
    {
        if (await MayAnswerAsync(context))
        {
            return true;
        }

        Log.LateAnswer(logger, context.Message.RequestId, context.Message.Retry?.Attempt ?? 0, groupName, deploymentId);
        return false;
    }

    /// <summary>
    /// Claims the attempt's answer (its ticket) when anyone may have given up on it: always for a saga-sent attempt; for
    /// a first attempt only once its call has taken its whole timeout (<see cref="FirstStepLate"/>), so the usual answer
    /// costs no store round trip.
    /// </summary>
    private async Task<bool> MayAnswerAsync(ConsumeContext<CreateChatCompletion> context)
    {
        var message = context.Message;
        var owner = AttemptOwner(context);
        if (message.Retry is { } retry)
        {
            return await retries.CommitAttemptAsync(message.RequestId, retry.Attempt, owner, message.Deadline);
        }

        return !FirstStepLate(message) ||
            (await retries.StartAttemptAsync(message.RequestId, 0, owner, message.Deadline) &&
             await retries.CommitAttemptAsync(message.RequestId, 0, owner, message.Deadline));
    }

    /// <summary>
    /// True once a first attempt is within the grace of its step timeout (<see cref="CreateChatCompletion.StepDueAt"/>):
    /// from then on the Ingress may hand it to the saga as timed out, so it starts and answers only holding its ticket.
    /// </summary>
    private bool FirstStepLate(CreateChatCompletion message) =>
        message.StepDueAt is { } due && timeProvider.GetUtcNow() >= due - AttemptStep.Grace;

    /// <summary>Ends a provider stream that will not be read (its token cancelled), so its response is released.</summary>
    private static async Task DiscardAsync(IAsyncEnumerable<JsonObject> chunks, CancellationToken cancelled)
    {
        try
        {
            await foreach (var _ in chunks.WithCancellation(cancelled))
            {
                break;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ProviderStreamException)
        {
            // expected: the read was cancelled
        }
    }

    /// <summary>A retry or fallback attempt answered: the saga can end.</summary>
    private async Task ReportSuccess(ConsumeContext<CreateChatCompletion> context, string groupName, string deploymentId)
    {
        if (context.Message.Retry is not { } retry)
        {
            return;
        }

        var saga = await context.GetSendEndpoint(await delayedSend.QueueAddressAsync(ChatCompletionRetryStateMachine.QueueName, context.CancellationToken));
        await saga.Send(new ChatCompletionAttemptSucceeded
        {
            RequestId = context.Message.RequestId,
            Attempt = retry.Attempt,
            ModelGroup = groupName,
            DeploymentId = deploymentId,
        }, CancellationToken.None);
        await FallbackReports.PublishAsync(context, context.Message.RequestId, retry, groupName, succeeded: true, null, timeProvider.GetUtcNow());
    }
}
