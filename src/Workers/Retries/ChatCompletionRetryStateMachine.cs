using Broker.Config;
using Broker.Contracts.Inference;
using Broker.Workers.Inference;
using Broker.Workers.Providers;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Redis;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Retries;

/// <summary>
/// The retries and fallbacks of one request, as a saga keyed by its RequestId. A worker whose first attempt failed in
/// a way a retry or fallback may fix reports <see cref="ChatCompletionAttemptFailed"/> instead of answering; the saga
/// plans the next step with <see cref="RetryPlanner"/> and sends either the next attempt (a
/// <see cref="CreateChatCompletion"/> to the target group's queue, with the original RequestId and ResponseAddress,
/// so the worker that succeeds answers the caller directly) or the final error to the caller. A successful later
/// attempt reports <see cref="ChatCompletionAttemptSucceeded"/> and the instance is removed. Requests whose first
/// attempt succeeds never reach it.
/// <para>
/// Each attempt it sends goes with a step timeout (<see cref="ChatCompletionAttemptTimedOut"/>, delivered when
/// <see cref="RetryPlanner.StepDueAt"/> says its time is up): an attempt that neither answered nor reported by then
/// (its message lost, its worker gone or stuck) is given up on and the next step goes out, so no request waits for
/// the Ingress' own timeout. The first attempt's step is guarded by the Ingress, which reports it as a timed-out
/// <see cref="ChatCompletionAttemptFailed"/> (<see cref="ChatCompletionAttemptFailed.TimedOut"/>) when its time is up.
/// </para>
/// <para>
/// Send, then save: the next step (and its timeout) is sent before the new state is stored. A process that dies in
/// between leaves the old state, so the redelivered report plans and sends that step again (the worker runs only one
/// copy of an attempt, see <see cref="RetrySagaStore.StartAttemptAsync"/>); a stored state always means its step went
/// out, so a report older than the stored attempt is ignored.
/// </para>
/// </summary>
public sealed class ChatCompletionRetryStateMachine : MassTransitStateMachine<ChatCompletionRetryState>
{
    /// <summary>The queue the saga consumes; workers send their reports there.</summary>
    public const string QueueName = "chat-completion-retries";

    private readonly IProxyConfigProvider _config;
    private readonly DelayedSend _delayedSend;
    private readonly RetrySagaStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly KeptAnswers _answers;
    private readonly ILogger<ChatCompletionRetryStateMachine> _logger;

    public ChatCompletionRetryStateMachine(
        IProxyConfigProvider config, DelayedSend delayedSend, RetrySagaStore store, TimeProvider timeProvider, KeptAnswers answers,
        ILogger<ChatCompletionRetryStateMachine> logger)
    {
        _answers = answers;
        _config = config;
        _delayedSend = delayedSend;
        _store = store;
        _timeProvider = timeProvider;
        _logger = logger;

        InstanceState(x => x.CurrentState);
        Event(() => AttemptFailed, e =>
        {
            e.CorrelateById(m => m.Message.RequestId);
            // the instance is stored before the first step runs, so two workers never both create it
            e.InsertOnInitial = true;
        });
        Event(() => AttemptSucceeded, e =>
        {
            e.CorrelateById(m => m.Message.RequestId);
            e.OnMissingInstance(m => m.Discard());
        });
        Event(() => AttemptTimedOut, e =>
        {
            e.CorrelateById(m => m.Message.RequestId);
            e.OnMissingInstance(m => m.Discard());
        });

        Initially(
            When(AttemptFailed)
                .ThenAsync(HandleFailure)
                .IfElse(c => c.Saga.Exhausted,
                    exhausted => exhausted.Finalize(),
                    next => next.TransitionTo(WaitingForAttempt)),
            // a retry answered before the report that sent it stored its state (sends come first): kept as answered
            // until it expires, so that report, consumed again, finds it answered instead of sending the step again
            When(AttemptSucceeded)
                .Then(HandleSuccess)
                .TransitionTo(Answered),
            Ignore(AttemptTimedOut));

        During(WaitingForAttempt,
            When(AttemptFailed)
                .ThenAsync(HandleFailure)
                .If(c => c.Saga.Exhausted, exhausted => exhausted.Finalize()),
            When(AttemptTimedOut)
                .ThenAsync(HandleTimeout)
                .If(c => c.Saga.Exhausted, exhausted => exhausted.Finalize()),
            When(AttemptSucceeded, c => c.Message.Attempt >= c.Saga.Attempt)
                .Then(HandleSuccess)
                .Finalize(),
            Ignore(AttemptSucceeded));

        During(Answered,
            Ignore(AttemptFailed),
            Ignore(AttemptSucceeded),
            Ignore(AttemptTimedOut));

        // removed once final; a late report that arrives while the instance still exists changes nothing
        During(Final,
            Ignore(AttemptFailed),
            Ignore(AttemptSucceeded),
            Ignore(AttemptTimedOut));

        SetCompletedWhenFinalized();
    }

    public State WaitingForAttempt { get; private set; } = null!;

    /// <summary>Answered while its first report was still being handled; expires with the request.</summary>
    public State Answered { get; private set; } = null!;

    public Event<ChatCompletionAttemptFailed> AttemptFailed { get; private set; } = null!;

    public Event<ChatCompletionAttemptSucceeded> AttemptSucceeded { get; private set; } = null!;

    public Event<ChatCompletionAttemptTimedOut> AttemptTimedOut { get; private set; } = null!;

    private async Task HandleFailure(BehaviorContext<ChatCompletionRetryState, ChatCompletionAttemptFailed> context)
    {
        var message = context.Message;
        var saga = context.Saga;
        var attempt = message.Command.Retry?.Attempt ?? 0;
        if (saga.Retry is not null && attempt < saga.Attempt)
        {
            // a report of an attempt whose next step is stored, so it went out (it is sent before the state is saved)
            Log.StaleReport(_logger, message.RequestId, attempt, saga.Attempt);
            return;
        }

        if (message.TimedOut && saga.Retry is null)
        {
            // the Ingress got nothing from the first attempt within its step: give it up, unless it answered just now
            if (!await _store.AbandonAttemptAsync(message.RequestId, attempt, message.Command.Deadline))
            {
                saga.Exhausted = true;
                return;
            }

            Log.AttemptTimedOut(_logger, message.RequestId, attempt, message.Command.ModelGroup, message.AttemptMs);
        }

        var now = _timeProvider.GetUtcNow();
        Record(saga, message.Command, attempt, now, TimeSpan.FromMilliseconds(message.AttemptMs),
            message.TimedOut ? RetryAttemptStatus.TimedOut : RetryAttemptStatus.Failed, message.Error.DeploymentId, message.Error);
        await NextStepAsync(context, saga, message.Command, message.ResponseAddress, message.Error, message.FallbackOnly,
            TimeSpan.FromMilliseconds(message.AttemptMs), now);
    }

    private async Task HandleTimeout(BehaviorContext<ChatCompletionRetryState, ChatCompletionAttemptTimedOut> context)
    {
        var message = context.Message;
        var saga = context.Saga;
        if (message.Attempt != saga.Attempt || saga.Command is not { } command || saga.ResponseAddress is null)
        {
            // the attempt reported (or timed out) already: this timeout guards nothing now
            return;
        }

        var now = _timeProvider.GetUtcNow();
        if (message.DueAt - now > TimeSpan.FromMilliseconds(50))
        {
            // delivered early: a wait longer than the broker's longest step waits again
            await _delayedSend.TrySendAsync(context, QueueName, message, message.DueAt - now, _ => { }, context.CancellationToken);
            return;
        }

        if (!await _store.AbandonAttemptAsync(message.RequestId, message.Attempt, saga.Deadline))
        {
            // it answered the caller just now; its success report ends the saga
            return;
        }

        var started = saga.Attempts.LastOrDefault(a => a.Attempt == message.Attempt)?.StartedAt ?? now;
        var took = now - started;
        var error = new InferenceFailed
        {
            RequestId = message.RequestId,
            StatusCode = 408,
            ErrorClass = ProviderErrorClass.Timeout,
            Message = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Attempt {message.Attempt + 1} on model group '{command.ModelGroup}' got no answer within {took.TotalSeconds:0.#} s"),
            Type = "timeout",
            Code = "timeout",
        };
        Log.AttemptTimedOut(_logger, message.RequestId, message.Attempt, command.ModelGroup, took.TotalMilliseconds);
        Record(saga, command, message.Attempt, now, took, RetryAttemptStatus.TimedOut, null, error);
        await NextStepAsync(context, saga, command, new Uri(saga.ResponseAddress), error, fallbackOnly: false, took, now);
    }

    private void HandleSuccess(BehaviorContext<ChatCompletionRetryState, ChatCompletionAttemptSucceeded> context)
    {
        var message = context.Message;
        var saga = context.Saga;
        var now = _timeProvider.GetUtcNow();
        var started = saga.Attempts.LastOrDefault(a => a.Attempt == message.Attempt)?.StartedAt ?? now;
        Upsert(saga, new RetryAttempt
        {
            Attempt = message.Attempt,
            ModelGroup = message.ModelGroup,
            DeploymentId = message.DeploymentId,
            Status = RetryAttemptStatus.Succeeded,
            StartedAt = started,
            LatencyMs = Math.Max(0, (now - started).TotalMilliseconds),
        });
        Log.Answered(_logger, message.RequestId, saga.Attempts.Count, string.Join("; ", saga.Attempts));
    }

    /// <summary>
    /// The request's one usage event when every step failed: workers record none for an attempt they hand over, so a
    /// request answered by a retry or fallback is billed once, by the attempt that answered (Billing keeps the first
    /// event per request, so a redelivered report publishing this again changes nothing).
    /// </summary>
    private async Task PublishFailedUsageAsync(ConsumeContext context, ChatCompletionRetryState saga, CreateChatCompletion command, InferenceFailed error, DateTimeOffset now)
    {
        if (command.HealthCheck)
        {
            return;
        }

        await FallbackReports.PublishAsync(context, command.RequestId, command.Retry, command.ModelGroup, succeeded: false, error.ErrorClass.ToString(), now);

        var deploymentId = error.DeploymentId ?? "";
        var provider = _config.Current.ModelList.FirstOrDefault(d => d.Id == deploymentId)?.Provider ?? "";
        var started = saga.Attempts.Count > 0 ? saga.Attempts.Min(a => a.StartedAt) : now;
        await InferenceSteps.PublishUsage(context, command.RequestId, command.ModelGroup, deploymentId, provider,
            new TokenUsage { PromptTokens = 0, CompletionTokens = 0 }, Math.Max(0, (now - started).TotalMilliseconds), null,
            new ProviderError(error.ErrorClass, error.StatusCode, error.Message), now, command.Caller, 0m, guardrails: command.Guardrails);
    }

    /// <summary>Plans after a failed or timed-out attempt and sends the next attempt (with its timeout) or the final error.</summary>
    private async Task NextStepAsync(
        ConsumeContext context, ChatCompletionRetryState saga, CreateChatCompletion command, Uri responseAddress, InferenceFailed error,
        bool fallbackOnly, TimeSpan attemptDuration, DateTimeOffset now)
    {
        var requestId = command.RequestId;
        var config = _config.Current;
        var options = RetryRequestOptions.Parse(command.Body, command.Retry?.OriginalModelGroup ?? command.ModelGroup);
        var decision = RetryPlanner.Decide(config, options, command, error, fallbackOnly, now, attemptDuration);
        saga.ResponseAddress = responseAddress.ToString();
        saga.Deadline = command.Deadline;
        saga.Retry = decision.Next;
        saga.Attempt = decision.Next.Attempt;

        if (decision.Exhausted)
        {
            saga.Exhausted = true;
            saga.Command = null;
            var failed = decision.FinalError!;
            Log.Exhausted(_logger, requestId, decision.Next.OriginalModelGroup, decision.Next.History.Count, string.Join("; ", saga.Attempts));
            // kept first for a request with an Idempotency-Key, so its repeat gets it even if its Ingress is gone
            await _answers.KeepAsync(requestId, failed, command.KeepAnswerSeconds);
            await InstanceEndpoint.SendAsync(context, responseAddress, failed, s => s.RequestId = requestId, context.CancellationToken);
            await PublishFailedUsageAsync(context, saga, command, error, now);
            return;
        }

        var group = decision.Group!;
        saga.ModelGroup = group.Name;
        var next = command with
        {
            ModelGroup = group.Name,
            RequestedModel = decision.RequestedModel ?? group.Name,
            DeploymentId = decision.DeploymentId,
            Retry = decision.Next,
            // the saga guards its attempts itself (ChatCompletionAttemptTimedOut)
            StepDueAt = null,
        };
        saga.Command = next;
        var wait = decision.Next.NotBefore - now ?? TimeSpan.Zero;
        var startsAt = wait > TimeSpan.Zero ? now + wait : now;
        Upsert(saga, new RetryAttempt { Attempt = next.Retry.Attempt, ModelGroup = group.Name, Status = RetryAttemptStatus.Running, StartedAt = startsAt });
        Log.NextAttempt(_logger, requestId, decision.IsFallback ? "fallback" : "retry", decision.Next.Attempt, group.Name,
            error.ErrorClass.ToString(), error.StatusCode, wait.TotalMilliseconds);
        var timeToLive = command.Deadline - now;
        void Configure(SendContext<CreateChatCompletion> s)
        {
            s.RequestId = requestId;
            s.ResponseAddress = responseAddress;
            s.TimeToLive = timeToLive > TimeSpan.FromSeconds(1) ? timeToLive : TimeSpan.FromSeconds(1);
        }

        // a backoff or Retry-After is waited out in the message broker, not by a worker holding a slot
        if (!await _delayedSend.TrySendAsync(context, group.QueueName, next, wait, Configure, context.CancellationToken))
        {
            // no wait queue (RabbitMQ refused to declare it): the worker that takes the command waits
            var endpoint = await context.GetSendEndpoint(await _delayedSend.QueueAddressAsync(group.QueueName, context.CancellationToken));
            await endpoint.Send(next, Configure, context.CancellationToken);
        }

        var dueAt = RetryPlanner.StepDueAt(config, group, decision.DeploymentId, command.Stream, startsAt, command.Deadline);
        var timeout = new ChatCompletionAttemptTimedOut { RequestId = requestId, Attempt = next.Retry.Attempt, DueAt = dueAt };
        if (!await _delayedSend.TrySendAsync(context, QueueName, timeout, dueAt - now, _ => { }, context.CancellationToken))
        {
            Log.NoStepTimeout(_logger, requestId, next.Retry.Attempt);
        }
    }

    /// <summary>Notes how an attempt ended in the saga's list (the first attempt is listed when its failure arrives).</summary>
    private static void Record(
        ChatCompletionRetryState saga, CreateChatCompletion command, int attempt, DateTimeOffset now, TimeSpan took,
        RetryAttemptStatus status, string? deploymentId, InferenceFailed error)
    {
        var started = saga.Attempts.LastOrDefault(a => a.Attempt == attempt)?.StartedAt ?? now - took;
        Upsert(saga, new RetryAttempt
        {
            Attempt = attempt,
            ModelGroup = command.ModelGroup,
            DeploymentId = deploymentId,
            Status = status,
            ErrorClass = error.ErrorClass,
            StatusCode = error.StatusCode,
            StartedAt = started,
            LatencyMs = Math.Max(0, took.TotalMilliseconds),
        });
    }

    private static void Upsert(ChatCompletionRetryState saga, RetryAttempt attempt)
    {
        var index = saga.Attempts.FindIndex(a => a.Attempt == attempt.Attempt);
        if (index >= 0)
        {
            saga.Attempts[index] = attempt;
        }
        else
        {
            saga.Attempts.Add(attempt);
        }
    }
}
