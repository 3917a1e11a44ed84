using RabbitMQ.Client;

namespace Broker.ServiceDefaults.Bus;

/// <summary>Plain RabbitMQ connections beside the bus (wait queues, queue checks, migrations), to the same node(s).</summary>
public static class RabbitConnections
{
    public static Task<IConnection> CreateAsync(Uri url, IReadOnlyList<string> clusterNodes, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(clusterNodes);
        var factory = new ConnectionFactory { Uri = url, ClientProvidedName = name, RequestedConnectionTimeout = TimeSpan.FromSeconds(5) };
        if (clusterNodes.Count == 0)
        {
            return factory.CreateConnectionAsync(cancellationToken);
        }

        var endpoints = clusterNodes.Select(node => AmqpTcpEndpoint.Parse(node.Contains(':', StringComparison.Ordinal) ? node : $"{node}:{url.Port}"));
        return factory.CreateConnectionAsync(endpoints, cancellationToken);
    }
}
