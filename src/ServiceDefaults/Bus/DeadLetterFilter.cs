using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// First step of a receive endpoint's error pipe, run once a message has failed all its retries and is about to be
/// moved to the <c>_error</c> queue (MassTransit's default fault behaviour, which runs right after): one error log line
/// naming the queue, the message and the reason, then every <see cref="IDeadLetterHandler"/> (alerts).
/// </summary>
public sealed class DeadLetterFilter(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    public void Probe(ProbeContext context) => context?.CreateFilterScope("brokerDeadLetter");

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var queue = QueueOf(context.InputAddress);
        string? messageType = null;
        if (context.TryGetPayload(out ConsumeContext? consumeContext))
        {
            messageType = consumeContext.SupportedMessageTypes.FirstOrDefault();
        }

        var letter = new DeadLetter(queue, context.GetMessageId()?.ToString(), messageType,
            $"{context.Exception.GetType().Name}: {context.Exception.Message}");
        Log.DeadLettered(services.GetRequiredService<ILogger<DeadLetterFilter>>(), letter.Queue, DeadLetter.ErrorQueueOf(letter.Queue),
            letter.MessageId, letter.MessageType, letter.Reason);
        foreach (var handler in services.GetServices<IDeadLetterHandler>())
        {
            await handler.HandleAsync(letter, CancellationToken.None);
        }

        await next.Send(context);
    }

    /// <summary>The queue name of an endpoint address (its last path segment, without the query).</summary>
    public static string QueueOf(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var path = address.IsAbsoluteUri ? address.AbsolutePath : address.OriginalString;
        var name = path.TrimEnd('/');
        return Uri.UnescapeDataString(name[(name.LastIndexOf('/') + 1)..]);
    }
}
