namespace Broker.ServiceDefaults.Bus;

/// <summary>Transport selection: RabbitMQ when <see cref="RabbitMqUrl"/> is set, else the in-memory transport.</summary>
public sealed record BusOptions
{
    /// <summary>amqp://user:pass@host:port/vhost, from RABBITMQ_URL.</summary>
    public Uri? RabbitMqUrl { get; init; }

    public bool IsDistributed => RabbitMqUrl is not null;
}
