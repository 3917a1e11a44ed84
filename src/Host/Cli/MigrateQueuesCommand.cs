using System.CommandLine;
using Broker.Config.Loading;
using Broker.Host.Composition;
using Broker.ServiceDefaults.Bus;
using MassTransit;

namespace Broker.Host.Cli;

/// <summary>
/// <c>broker migrate-queues [--config config.yaml]</c>: once, with every Broker process stopped, turns the queues an
/// older Broker left on the RabbitMQ at <c>RABBITMQ_URL</c> into the type Broker declares now (quorum by default,
/// classic with <c>BROKER_QUEUE_TYPE=classic</c>), keeping their messages (<see cref="QueueMigrator"/>). The queues are
/// the ones every role would declare for this config: model groups, the retry saga, Billing's, the retry wait queues.
/// </summary>
public static class MigrateQueuesCommand
{
    private static readonly string[] QueueSettings = ["BROKER_QUEUE_TYPE", "RABBITMQ_CLUSTER_NODES", "Bus:QueueType", "Bus:QueueDeliveryLimit", "Bus:QuorumReplicationFactor"];

    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv, Option<string> config)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(getEnv);
        ArgumentNullException.ThrowIfNull(config);
        var command = new Command("migrate-queues",
            "Once, with Broker stopped: turn existing RabbitMQ queues into the type Broker declares (quorum, or BROKER_QUEUE_TYPE), keeping their messages");
        command.Options.Add(config);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(getEnv("RABBITMQ_URL"), UriKind.Absolute, out var url) || url.Scheme is not ("amqp" or "amqps"))
            {
                await stderr.WriteLineAsync("error: migrate-queues needs RABBITMQ_URL (amqp://user:pass@host:5672/vhost) of the broker the roles use");
                return 2;
            }

            var path = parse.GetValue(config)!;
            var loaded = ProxyConfigLoader.LoadFile(path, getEnv);
            if (!loaded.IsUsable)
            {
                await stderr.WriteAsync(ConfigReport.Render(loaded));
                return 1;
            }

            // the queues every role declares for this config, as the bus configures them (built, never started)
            var settings = new Dictionary<string, string?>();
            foreach (var name in QueueSettings)
            {
                if (getEnv(name) is { } value)
                {
                    settings[name] = value;
                }
            }

            BusOptions options;
            IReadOnlyList<QueueTypeCheck.DurableQueue> queues;
            try
            {
                using var host = BrokerApp.Build(new RunOptions
                {
                    ConfigPath = path,
                    Roles = BrokerRoles.All,
                    RoleGiven = true,
                    Host = "127.0.0.1",
                    Port = 0,
                    RabbitMqUrl = url,
                    Settings = settings,
                }, loaded);
                _ = host.Services.GetRequiredService<IBusControl>().Address;
                options = host.Services.GetRequiredService<BusOptions>();
                queues = QueueTypeCheck.Declarations(options, host.Services.GetRequiredService<DurableQueueTopology>().Queues);
            }
            catch (InvalidOperationException ex)
            {
                await stderr.WriteLineAsync($"error: {ex.Message}");
                return 2;
            }

            IReadOnlyList<QueueMigrator.Result> results;
            try
            {
                results = await QueueMigrator.MigrateAsync(options, queues, cancellationToken);
            }
            catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException ex)
            {
                await stderr.WriteLineAsync($"error: cannot reach RabbitMQ at {url.Host}:{url.Port}: {ex.InnerException?.Message ?? ex.Message}");
                return 1;
            }

            foreach (var result in results)
            {
                await (result.Failed ? stderr : stdout).WriteLineAsync(
                    result.Moved > 0 ? $"{result.Queue}: {result.Outcome}, {result.Moved} message(s) kept" : $"{result.Queue}: {result.Outcome}");
            }

            return results.Any(r => r.Failed) ? 1 : 0;
        });
        return command;
    }
}
