using System.Reflection;
using MassTransit;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// How soon a receive endpoint tries again after its RabbitMQ connection failed. MassTransit 8.5 waits 3 s, then 6,
/// 9... up to 30 s between attempts and gives up after 1000, with no setting to change it: after an outage of 20 s an
/// endpoint came back 5 to 37 s after RabbitMQ did. Here every endpoint tries again within <see cref="MaxInterval"/>
/// (the same exceptions are retried, so a refused login still stops it), and never gives up while the process runs.
/// <para>
/// The policy is a read-only property of MassTransit's RabbitMQ host configuration, so it is replaced through its
/// backing field; <see cref="Shorten"/> returns false when a MassTransit version no longer has it (a test pins it).
/// </para>
/// </summary>
public static class ReconnectBackoff
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(200);

    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(1);

    /// <summary>Replaces the receive transports' retry policy of <paramref name="configurator"/>'s host.</summary>
    public static bool Shorten(IRabbitMqBusFactoryConfigurator configurator)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        var host = configurator.GetType().GetField("_hostConfiguration", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(configurator);
        var field = host?.GetType().GetField("<ReceiveTransportRetryPolicy>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);
        if (field?.GetValue(host) is not IRetryPolicy original)
        {
            return false;
        }

        field.SetValue(host, Retry.CreatePolicy(x =>
        {
            x.Handle<Exception>(original.IsHandled);
            x.Exponential(int.MaxValue, MinInterval, MaxInterval, MinInterval);
        }));
        return true;
    }
}
