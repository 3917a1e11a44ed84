using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Retries;

/// <summary>
/// First step of a model group queue's error pipe: a chat attempt that could not take or commit its ticket because the
/// retry saga's store (PostgreSQL or Redis) could not be reached (<see cref="AttemptTicketUnavailableException"/>, after
/// a few short tries) is answered here with 503 <c>state_store_unavailable</c>, instead of
/// being dead-lettered while its client waits for the request's timeout. The attempt did not run (or its answer was not
/// sent and not billed), so the command is discarded, not moved to <c>_error</c>: a replay would run an attempt nobody
/// waits for. Other messages, other failures, and commands past their deadline go on to the usual dead-lettering.
/// </summary>
public sealed class AttemptStoreFailureAnswer(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    public void Probe(ProbeContext context) => context?.CreateFilterScope("attemptStoreFailureAnswer");

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var time = services.GetRequiredService<TimeProvider>();
        if (TicketUnavailable(context.Exception) &&
            Command(context) is ({ } command, { } responseAddress) &&
            command.Deadline > time.GetUtcNow())
        {
            var logger = services.GetRequiredService<ILogger<AttemptStoreFailureAnswer>>();
            var answer = new InferenceFailed
            {
                RequestId = command.RequestId,
                StatusCode = 503,
                ErrorClass = ProviderErrorClass.InternalServerError,
                Message = $"This {(command.Retry is null ? "attempt" : "retry or fallback")} of model group '{command.ModelGroup}' could not run: " +
                          $"{SagaStoreFailureAnswer.StoreName(services)}, where retries and fallbacks keep their state, is unreachable",
                Type = "api_error",
                Code = "state_store_unavailable",
                Queue = context.InputAddress.Segments[^1],
            };
            try
            {
                await InstanceEndpoint.SendAsync(services.GetRequiredService<IBus>(), responseAddress, answer, s => s.RequestId = command.RequestId, CancellationToken.None);
                Log.AttemptAnsweredWithoutTicket(logger, command.RequestId, command.Retry?.Attempt ?? 0, answer.Queue, answer.StatusCode,
                    context.Exception.GetType().Name + ": " + context.Exception.Message);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.AttemptAnswerFailed(logger, command.RequestId, ex.GetType().Name + ": " + ex.Message);
            }
        }

        await next.Send(context);
    }

    /// <summary>Only a ticket the store could not be reached for: any other failure (after the answer, too) is dead-lettered.</summary>
    private static bool TicketUnavailable(Exception? exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is AttemptTicketUnavailableException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The chat command in this message's envelope and where its answer goes, or nulls for anything else.</summary>
    private static (CreateChatCompletion? Command, Uri? ResponseAddress) Command(ReceiveContext context)
    {
        try
        {
            if (JsonNode.Parse(context.Body.GetBytes()) is not JsonObject envelope ||
                envelope["messageType"] is not JsonArray types ||
                !types.Any(t => t?.GetValue<string>()?.EndsWith(":" + nameof(CreateChatCompletion), StringComparison.Ordinal) == true) ||
                envelope["responseAddress"]?.GetValue<string>() is not { Length: > 0 } address)
            {
                return (null, null);
            }

            return (envelope["message"]?.Deserialize<CreateChatCompletion>(JsonSerializerOptions.Web), new Uri(address));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException or UriFormatException)
        {
            return (null, null);
        }
    }
}
