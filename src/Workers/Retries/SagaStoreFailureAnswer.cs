using Broker.Contracts.Inference;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Retries;

/// <summary>
/// First step of the retry saga queue's error pipe: a failed attempt's report that the saga could not process (its
/// store, PostgreSQL or Redis, kept failing through the message's retries, about 8 s) is answered here with the
/// attempt's own error and why no retry or fallback was tried, instead of being dead-lettered while its client waits for
/// the request's timeout. Such a report is then discarded, not moved to <c>_error</c>: the client has its answer, and a
/// replay must not start a retry nobody waits for (and bill it). Reports of another kind, failures that are not the
/// store's, and reports past their deadline go on to the usual dead-lettering.
/// </summary>
public sealed class SagaStoreFailureAnswer(IServiceProvider services) : StoreFailureAnswer(services)
{
    public override void Probe(ProbeContext context) => context?.CreateFilterScope("sagaStoreFailureAnswer");

    protected override StoreFailureReply? Answer(ExceptionReceiveContext context)
    {
        if (!IsStoreFailure(context.Exception) || Read<ChatCompletionAttemptFailed>(context).Message is not { } failed)
        {
            return null;
        }

        var answer = failed.Error with
        {
            Message = failed.Error.Message +
                $" (no retry or fallback was tried: {StoreName()}, where retries and fallbacks keep their state, is unreachable)",
        };
        return new StoreFailureReply(answer, failed.ResponseAddress, failed.Command.Deadline, failed.Command.Retry?.Attempt ?? 0);
    }

    protected override void Answered(ExceptionReceiveContext context, StoreFailureReply answer) =>
        Log.AnsweredWithoutSaga(Logger, answer.Failure.RequestId, answer.Attempt, answer.Failure.StatusCode,
            context.Exception.GetType().Name + ": " + context.Exception.Message);

    protected override void NotAnswered(StoreFailureReply answer, string reason) =>
        Log.AnswerWithoutSagaFailed(Logger, answer.Failure.RequestId, reason);

    private ILogger Logger => Services.GetRequiredService<ILogger<SagaStoreFailureAnswer>>();

    /// <summary>The saga's store failed (not a fault of the message itself): PostgreSQL, Redis, a timeout, a lost race.</summary>
    internal static bool IsStoreFailure(Exception? exception) =>
        Caused<Npgsql.NpgsqlException>(exception) || Caused<StackExchange.Redis.RedisException>(exception) ||
        Caused<TimeoutException>(exception) || Caused<ConcurrencyException>(exception);
}
