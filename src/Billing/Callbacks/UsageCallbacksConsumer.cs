using Broker.Billing.Alerts;
using Broker.Contracts.Usage;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Callbacks;

/// <summary>
/// success_callback / failure_callback / callbacks: sends every finished request to the integrations named for its
/// outcome, off the request path, on its own endpoint (never in the way of spend writes). Each integration is retried
/// with backoff on its own; one that still fails drops this event (logged), as LiteLLM's callbacks do.
/// </summary>
public sealed class UsageCallbacksConsumer(
    CallbackOptions options,
    CallbackSinks sinks,
    DeliveryRetry retry,
    ILogger<UsageCallbacksConsumer> logger) : IConsumer<UsageRecorded>
{
    public Task Consume(ConsumeContext<UsageRecorded> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var usage = context.Message;
        var wanted = sinks.All.Where(s => options.Wants(s, usage.Succeeded)).ToList();
        if (wanted.Count == 0)
        {
            return Task.CompletedTask;
        }

        var callbackEvent = CallbackEvent.From(usage, options);
        return Task.WhenAll(wanted.Select(s => SendAsync(s, callbackEvent, context.CancellationToken)));
    }

    private async Task SendAsync(ICallbackSink sink, CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        try
        {
            await retry.ExecuteAsync("callback", sink.Name, ct => sink.SendAsync(callbackEvent, ct), cancellationToken);
            Log.CallbackSent(logger, sink.Name, callbackEvent.Usage.RequestId, callbackEvent.Status);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // the integration's own failure (HTTP, DNS, socket) after its retries: dropped, the others still get the event
            Log.CallbackFailed(logger, sink.Name, callbackEvent.Usage.RequestId, ex.Message);
        }
    }
}
