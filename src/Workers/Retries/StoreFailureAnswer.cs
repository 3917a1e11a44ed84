using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Workers.Retries;

/// <summary>
/// An error-pipe step that answers a request's client when its message failed because the retry saga's store could not
/// be used, instead of letting the message be dead-lettered while the client waits for the request's timeout. The
/// answered message is discarded (a replay would start work nobody waits for); anything else goes on down the pipe.
/// </summary>
public abstract class StoreFailureAnswer(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    protected IServiceProvider Services => services;

    public abstract void Probe(ProbeContext context);

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (Answer(context) is { } answer && answer.Deadline > services.GetRequiredService<TimeProvider>().GetUtcNow())
        {
            try
            {
                await InstanceEndpoint.SendAsync(
                    services.GetRequiredService<IBus>(), answer.ResponseAddress, answer.Failure, s => s.RequestId = answer.Failure.RequestId, CancellationToken.None);
                Answered(context, answer);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                NotAnswered(answer, ex.GetType().Name + ": " + ex.Message);
            }
        }

        await next.Send(context);
    }

    /// <summary>The answer for this failed message, or null when this step does not answer it.</summary>
    protected abstract StoreFailureReply? Answer(ExceptionReceiveContext context);

    protected abstract void Answered(ExceptionReceiveContext context, StoreFailureReply answer);

    protected abstract void NotAnswered(StoreFailureReply answer, string reason);

    /// <summary>Where retries and fallbacks keep their state, as the client is told.</summary>
    protected string StoreName() => services.GetRequiredService<RetrySagaStore>().Kind switch
    {
        RetrySagaStoreKind.PostgreSql => "PostgreSQL",
        RetrySagaStoreKind.Redis => "Redis",
        var other => other.ToString(),
    };

    /// <summary>
    /// The message of type <typeparamref name="T"/> in this message's envelope and its response address (the consume
    /// context is gone by the error pipe), or nulls when the message is of another kind or cannot be read.
    /// </summary>
    protected static (T? Message, Uri? ResponseAddress) Read<T>(ReceiveContext context)
        where T : class
    {
        try
        {
            if (JsonNode.Parse(context.Body.GetBytes()) is not JsonObject envelope ||
                envelope["messageType"] is not JsonArray types ||
                !types.Any(t => t?.GetValue<string>()?.EndsWith(":" + typeof(T).Name, StringComparison.Ordinal) == true))
            {
                return (null, null);
            }

            var address = envelope["responseAddress"]?.GetValue<string>() is { Length: > 0 } text ? new Uri(text) : null;
            return (envelope["message"]?.Deserialize<T>(JsonSerializerOptions.Web), address);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException or UriFormatException)
        {
            return (null, null);
        }
    }

    /// <summary>True when <typeparamref name="T"/> is <paramref name="exception"/> or one of its inner exceptions.</summary>
    protected static bool Caused<T>(Exception? exception)
        where T : Exception
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is T)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>What a <see cref="StoreFailureAnswer"/> sends: the failure, to whom, and until when anyone waits for it.</summary>
public sealed record StoreFailureReply(InferenceFailed Failure, Uri ResponseAddress, DateTimeOffset Deadline, int Attempt);
