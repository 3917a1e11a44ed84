using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
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
public sealed class SagaStoreFailureAnswer(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    public void Probe(ProbeContext context) => context?.CreateFilterScope("sagaStoreFailureAnswer");

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var time = services.GetRequiredService<TimeProvider>();
        if (IsStoreFailure(context.Exception) &&
            Report(context) is { } failed &&
            failed.Command.Deadline > time.GetUtcNow())
        {
            var logger = services.GetRequiredService<ILogger<SagaStoreFailureAnswer>>();
            var store = StoreName(services);
            var answer = failed.Error with
            {
                Message = failed.Error.Message +
                    $" (no retry or fallback was tried: {store}, where retries and fallbacks keep their state, is unreachable)",
            };
            try
            {
                await InstanceEndpoint.SendAsync(services.GetRequiredService<IBus>(), failed.ResponseAddress, answer, s => s.RequestId = failed.RequestId, CancellationToken.None);
                Log.AnsweredWithoutSaga(logger, failed.RequestId, failed.Command.Retry?.Attempt ?? 0, answer.StatusCode,
                    context.Exception.GetType().Name + ": " + context.Exception.Message);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.AnswerWithoutSagaFailed(logger, failed.RequestId, ex.GetType().Name + ": " + ex.Message);
            }
        }

        await next.Send(context);
    }

    /// <summary>
    /// The failed attempt's report in this message's envelope (the consume context is gone by the error pipe), or null
    /// when the message is of another kind or cannot be read.
    /// </summary>
    private static ChatCompletionAttemptFailed? Report(ReceiveContext context)
    {
        try
        {
            if (JsonNode.Parse(context.Body.GetBytes()) is not JsonObject envelope ||
                envelope["messageType"] is not JsonArray types ||
                !types.Any(t => t?.GetValue<string>()?.EndsWith(":" + nameof(ChatCompletionAttemptFailed), StringComparison.Ordinal) == true))
            {
                return null;
            }

            return envelope["message"]?.Deserialize<ChatCompletionAttemptFailed>(JsonSerializerOptions.Web);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Where retries and fallbacks keep their state, as the client is told.</summary>
    internal static string StoreName(IServiceProvider services) => services.GetRequiredService<RetrySagaStore>().Kind switch
    {
        RetrySagaStoreKind.PostgreSql => "PostgreSQL",
        RetrySagaStoreKind.Redis => "Redis",
        var other => other.ToString(),
    };

    /// <summary>The saga's store failed (not a fault of the message itself): PostgreSQL, Redis, a timeout, a lost race.</summary>
    internal static bool IsStoreFailure(Exception? exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is Npgsql.NpgsqlException or StackExchange.Redis.RedisException or TimeoutException or ConcurrencyException)
            {
                return true;
            }
        }

        return false;
    }
}
