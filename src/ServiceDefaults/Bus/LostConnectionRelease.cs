using System.Runtime.CompilerServices;
using MassTransit;
using MassTransit.RabbitMqTransport;
using MassTransit.Transports;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// Ends the delivery of a message whose RabbitMQ connection was lost, instead of waiting for its consumer, so that
/// every receive endpoint learns of the loss and consumes again once RabbitMQ is back.
/// <para>
/// RabbitMQ.Client 7 tells the channels of a lost connection one after the other, and each channel's turn ends only
/// once the messages it was delivering have been handled; MassTransit handles a delivery by running its consumer to the
/// end. A consumer still running when the connection dropped (a streamed answer, a report waiting for the connection
/// to send itself, or waiting for a publish confirm that only a later channel's turn would fail) therefore held back
/// the news for every channel after its own: after a RabbitMQ outage those receive endpoints never found out their
/// channel was dead and never consumed again (a model group's queue, its fallback group's and
/// <c>chat-completion-retries</c> kept one consumer of two for minutes), and the waits could not end at all when the
/// consumer waited on one of them.
/// </para>
/// <para>
/// This filter sits first in every RabbitMQ receive endpoint's pipe. When the delivery's connection closes while its
/// consumer runs, it cancels the delivery (the consumer's <c>CancellationToken</c>), gives the consumer
/// <see cref="Grace"/> to finish, and then stops waiting: the delivery ends as interrupted (MassTransit restarts the
/// endpoint) and the consumer finishes on its own. The message itself is not lost: it was never acknowledged, so
/// RabbitMQ has put it back in its queue. A delivery that arrives after its connection closed is not started.
/// </para>
/// </summary>
public sealed class LostConnectionRelease(TimeProvider time, ILogger<LostConnectionRelease> logger) : IFilter<ReceiveContext>
{
    /// <summary>How long a consumer may still run after its connection closed before its delivery is ended without it.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    /// <summary>How often an open connection is checked: RabbitMQ.Client marks it closed before it tells any channel.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConditionalWeakTable<IConnection, Lazy<Task>> _closed = [];

    public void Probe(ProbeContext context) => context.CreateFilterScope("lostConnectionRelease");

    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (!context.TryGetPayload<ConnectionContext>(out var connectionContext) || connectionContext.Connection is not { } connection)
        {
            await next.Send(context);
            return;
        }

        if (!connection.IsOpen)
        {
            throw Interrupted(connection);
        }

        var consume = next.Send(context);
        if (consume.IsCompleted)
        {
            await consume;
            return;
        }

        var closed = _closed.GetValue(connection, c => new Lazy<Task>(() => WatchAsync(c))).Value;
        if (await Task.WhenAny(consume, closed) == consume)
        {
            await consume;
            return;
        }

        // the connection is gone: the consumer's token says so (MassTransit may not know yet), then it has a moment
        if (context is BaseReceiveContext receive)
        {
            receive.Cancel();
        }

        using var grace = new CancellationTokenSource(Grace, time);
        try
        {
            await consume.WaitAsync(grace.Token);
            return;
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested)
        {
            // the consumer goes on alone; what it ends with is only logged, its message is back in the queue
            _ = consume.ContinueWith(static (t, state) => Log.ReleasedConsumerFailed((ILogger)state!, t.Exception!),
                logger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        Log.DeliveryReleased(logger, context.InputAddress.AbsolutePath.Trim('/'), Grace.TotalSeconds);
        throw Interrupted(connection);
    }

    private static OperationInterruptedException Interrupted(IConnection connection) =>
        new(connection.CloseReason ?? new ShutdownEventArgs(ShutdownInitiator.Library, 320, "RabbitMQ connection closed"));

    /// <summary>Completes once <paramref name="connection"/> is closed (one watch per connection, shared by its deliveries).</summary>
    private async Task WatchAsync(IConnection connection)
    {
        while (connection.IsOpen)
        {
            await Task.Delay(CheckInterval, time, CancellationToken.None);
        }
    }

    /// <summary>Puts the filter first in the pipe of every RabbitMQ receive endpoint the bus configures.</summary>
    public sealed class Installer(LostConnectionRelease filter) : IEndpointConfigurationObserver
    {
        public void EndpointConfigured<T>(T configurator)
            where T : IReceiveEndpointConfigurator
        {
            if (configurator is IRabbitMqReceiveEndpointConfigurator)
            {
                configurator.ConfigureReceive(r => r.UseFilter(filter));
            }
        }
    }
}
