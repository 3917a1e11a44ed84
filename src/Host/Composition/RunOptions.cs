namespace Broker.Host.Composition;

/// <summary>What <c>broker</c> was asked to run, from the command line and environment.</summary>
public sealed record RunOptions
{
    public required string ConfigPath { get; init; }

    public BrokerRoles Roles { get; init; } = BrokerRoles.All;

    /// <summary>True when --role was given (distributed deployment).</summary>
    public bool RoleGiven { get; init; }

    public string Host { get; init; } = "0.0.0.0";

    /// <summary>HTTP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 4000;

    public IReadOnlyCollection<string> Groups { get; init; } = [];

    public int? NumWorkers { get; init; }

    /// <summary>Workers: at most this many requests of each group at once per process (<c>--concurrency</c>).</summary>
    public int? Concurrency { get; init; }

    public bool Debug { get; init; }

    /// <summary>Extra host settings (appsettings keys such as <c>Ingress:SseKeepAliveSeconds</c>), over the environment's.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>RABBITMQ_URL; null = in-memory transport (all roles in one process only).</summary>
    public Uri? RabbitMqUrl { get; init; }
}
