using Broker.Contracts.Inference;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Retries;

/// <summary>
/// First step of a model group queue's error pipe: a chat attempt that could not take or commit its ticket because the
/// retry saga's store (PostgreSQL or Redis) could not be reached (<see cref="AttemptTicketUnavailableException"/>, after
/// a few short tries) is answered here with 503 <c>state_store_unavailable</c>, instead of being dead-lettered while its
/// client waits for the request's timeout. The attempt did not run (or its answer was neither sent nor billed), so the
/// command is discarded, not moved to <c>_error</c>: a replay would run an attempt nobody waits for. Other messages,
/// other failures (after the answer, too), and commands past their deadline go on to the usual dead-lettering.
/// </summary>
public sealed class AttemptStoreFailureAnswer(IServiceProvider services) : StoreFailureAnswer(services)
{
    public override void Probe(ProbeContext context) => context?.CreateFilterScope("attemptStoreFailureAnswer");

    protected override StoreFailureReply? Answer(ExceptionReceiveContext context)
    {
        if (!Caused<AttemptTicketUnavailableException>(context.Exception) ||
            Read<CreateChatCompletion>(context) is not ({ } command, { } responseAddress))
        {
            return null;
        }

        var answer = new InferenceFailed
        {
            RequestId = command.RequestId,
            StatusCode = 503,
            ErrorClass = ProviderErrorClass.InternalServerError,
            Message = $"This {(command.Retry is null ? "attempt" : "retry or fallback")} of model group '{command.ModelGroup}' could not run: " +
                      $"{StoreName()}, where retries and fallbacks keep their state, is unreachable",
            Type = "api_error",
            Code = "state_store_unavailable",
            Queue = context.InputAddress.Segments[^1],
        };
        return new StoreFailureReply(answer, responseAddress, command.Deadline, command.Retry?.Attempt ?? 0);
    }

    protected override void Answered(ExceptionReceiveContext context, StoreFailureReply answer) =>
        Log.AttemptAnsweredWithoutTicket(Logger, answer.Failure.RequestId, answer.Attempt, answer.Failure.Queue ?? "", answer.Failure.StatusCode,
            context.Exception.GetType().Name + ": " + context.Exception.Message);

    protected override void NotAnswered(StoreFailureReply answer, string reason) =>
        Log.AttemptAnswerFailed(Logger, answer.Failure.RequestId, reason);

    private ILogger Logger => Services.GetRequiredService<ILogger<AttemptStoreFailureAnswer>>();
}
