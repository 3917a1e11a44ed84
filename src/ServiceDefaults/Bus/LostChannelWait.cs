using System.Reflection;
using MassTransit;
using MassTransit.Configuration;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// How long a RabbitMQ receive endpoint whose channel died (connection lost, channel closed, consumer cancelled by
/// the broker) waits for the messages it was still consuming before it consumes again.
/// <para>
/// MassTransit 8.5 restarts such an endpoint only once its consumer has stopped, and that stop waits for every
/// message in flight for up to the host's <c>StopTimeout</c> (Broker's graceful drain plus 10 s: 40 s by default). A
/// consumer in flight when RabbitMQ went away holds that wait: a streamed answer keeps calling its provider, a report
/// waits for the connection to send itself. So after an outage a model group's queue, or the retry saga's, had no
/// consumer of that process for up to 40 s after RabbitMQ was back, although the messages of the dead channel were
/// already back in their queue (RabbitMQ requeues them when the channel closes; their acks can only fail).
/// </para>
/// <para>
/// Here that wait is <see cref="Wait"/>: the endpoint consumes again as soon as its connection is back. The consumers
/// still running finish on their own (their cancellation token is cancelled with the channel) and keep their
/// concurrency slots meanwhile, since the endpoint's concurrency limit is shared across restarts. A graceful stop is
/// not affected: the bus stop passes its own timeout (<c>MassTransitHostOptions.StopTimeout</c>) down to the consumers.
/// </para>
/// <para>
/// MassTransit reads the value from the host configuration, which has no setting for it apart from the one the
/// graceful stop also uses; the host configuration is reached through the configurator's private field, and
/// <see cref="Shorten"/> returns false when a MassTransit version no longer has it (a test pins it).
/// </para>
/// </summary>
public static class LostChannelWait
{
    /// <summary>How long an endpoint whose channel died waits for its messages in flight before it consumes again.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(1);

    /// <summary>Sets the wait of every receive endpoint of <paramref name="configurator"/>'s host to <see cref="Wait"/>.</summary>
    public static bool Shorten(IRabbitMqBusFactoryConfigurator configurator)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        if (configurator.GetType().GetField("_hostConfiguration", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(configurator)
            is not IHostConfiguration host)
        {
            return false;
        }

        host.StopTimeout = Wait;
        return true;
    }

}
