using Broker.Config;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
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
/// </summary>
public sealed class ChatCompletionRetryStateMachine : MassTransitStateMachine<ChatCompletionRetryState>
{
    /// <summary>The queue the saga consumes; workers send their reports there.</summary>
    public const string QueueName = "chat-completion-retries";

    private readonly IProxyConfigProvider _config;
    private readonly DelayedSend _delayedSend;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ChatCompletionRetryStateMachine> _logger;

    public ChatCompletionRetryStateMachine(
        IProxyConfigProvider config, DelayedSend delayedSend, TimeProvider timeProvider, ILogger<ChatCompletionRetryStateMachine> logger)
    {
        _config = config;
        _delayedSend = delayedSend;
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

        Initially(
            When(AttemptFailed)
                .ThenAsync(HandleFailure)
                .IfElse(c => c.Saga.Exhausted,
                    exhausted => exhausted.Finalize(),
                    next => next.TransitionTo(WaitingForAttempt)),
            When(AttemptSucceeded)
                .Finalize());

        During(WaitingForAttempt,
            When(AttemptFailed)
                .ThenAsync(HandleFailure)
                .If(c => c.Saga.Exhausted, exhausted => exhausted.Finalize()),
            When(AttemptSucceeded, c => c.Message.Attempt >= c.Saga.Attempt)
                .Finalize(),
            Ignore(AttemptSucceeded));

        // removed once final; a late report that arrives while the instance still exists changes nothing
        During(Final,
            Ignore(AttemptFailed),
            Ignore(AttemptSucceeded));

        SetCompletedWhenFinalized();
    }

    public State WaitingForAttempt { get; private set; } = null!;

    public Event<ChatCompletionAttemptFailed> AttemptFailed { get; private set; } = null!;

    public Event<ChatCompletionAttemptSucceeded> AttemptSucceeded { get; private set; } = null!;

    private async Task HandleFailure(BehaviorContext<ChatCompletionRetryState, ChatCompletionAttemptFailed> context)
    {
        var message = context.Message;
        var saga = context.Saga;
        var attempt = message.Command.Retry?.Attempt ?? 0;
        if (saga.Retry is not null && attempt < saga.Attempt)
        {
            // a report of an attempt that was already handled (a redelivered message): its next step went out then
            Log.StaleReport(_logger, message.RequestId, attempt, saga.Attempt);
            return;
        }

        var command = message.Command;
        var now = _timeProvider.GetUtcNow();
        var options = RetryRequestOptions.Parse(command.Body, command.Retry?.OriginalModelGroup ?? command.ModelGroup);
        var decision = RetryPlanner.Decide(_config.Current, options, command, message.Error, message.FallbackOnly, now,
            TimeSpan.FromMilliseconds(message.AttemptMs));
        saga.ResponseAddress = message.ResponseAddress.ToString();
        saga.Deadline = command.Deadline;
        saga.Retry = decision.Next;
        saga.Attempt = decision.Next.Attempt;

        if (decision.Exhausted)
        {
            saga.Exhausted = true;
            var failed = decision.FinalError!;
            Log.Exhausted(_logger, message.RequestId, decision.Next.OriginalModelGroup, decision.Next.History.Count);
            await InstanceEndpoint.SendAsync(context, message.ResponseAddress, failed, s => s.RequestId = message.RequestId, context.CancellationToken);
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
        };
        Log.NextAttempt(_logger, message.RequestId, decision.IsFallback ? "fallback" : "retry", decision.Next.Attempt, group.Name,
            message.Error.ErrorClass.ToString(), message.Error.StatusCode, (decision.Next.NotBefore - now)?.TotalMilliseconds ?? 0);
        var timeToLive = command.Deadline - now;
        void Configure(SendContext<CreateChatCompletion> s)
        {
            s.RequestId = message.RequestId;
            s.ResponseAddress = message.ResponseAddress;
            s.TimeToLive = timeToLive > TimeSpan.FromSeconds(1) ? timeToLive : TimeSpan.FromSeconds(1);
        }

        // a backoff or Retry-After is waited out in the message broker, not by a worker holding a slot
        var wait = decision.Next.NotBefore - now ?? TimeSpan.Zero;
        if (!await _delayedSend.TrySendAsync(context, group.QueueName, next, wait, Configure, context.CancellationToken))
        {
            // no wait queue (RabbitMQ refused to declare it): the worker that takes the command waits
            var endpoint = await context.GetSendEndpoint(await _delayedSend.QueueAddressAsync(group.QueueName, context.CancellationToken));
            await endpoint.Send(next, Configure, context.CancellationToken);
        }
    }
}
