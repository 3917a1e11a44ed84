using System.CommandLine;

namespace Broker.Host.Cli;

/// <summary>
/// <c>broker replay-errors [--queue NAME]... [--limit N]</c>: moves the messages consumers gave up on from
/// <c>&lt;queue&gt;_error</c> back to <c>&lt;queue&gt;</c> on the RabbitMQ at <c>RABBITMQ_URL</c>, once the cause is fixed.
/// Default queue: <c>billing.usage-recorded</c> (usage events whose spend was not written).
/// </summary>
public static class ReplayErrorsCommand
{
    public const string DefaultQueue = "billing.usage-recorded";

    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(getEnv);
        var command = new Command("replay-errors",
            "Move messages that failed all their retries from <queue>_error back to <queue> (RABBITMQ_URL), once the cause is fixed");
        var queues = new Option<string[]>("--queue", "-q")
        {
            Description = $"Queue whose _error queue to replay (repeatable; default {DefaultQueue}); e.g. billing.alerts, billing.callbacks, model-group.<name>",
            AllowMultipleArgumentsPerToken = true,
        };
        var limit = new Option<int?>("--limit") { Description = "Move at most N messages per queue (default: every message there when it starts)" };
        command.Options.Add(queues);
        command.Options.Add(limit);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(getEnv("RABBITMQ_URL"), UriKind.Absolute, out var url) || url.Scheme is not ("amqp" or "amqps"))
            {
                await stderr.WriteLineAsync(
                    "error: replay-errors needs RABBITMQ_URL (amqp://user:pass@host:5672/vhost) of the broker the roles use; " +
                    "with the in-memory bus failed messages do not outlive the process.");
                return 2;
            }

            var names = parse.GetValue(queues) is { Length: > 0 } given ? given : [DefaultQueue];
            foreach (var name in names.Distinct(StringComparer.Ordinal))
            {
                ErrorQueueReplayer.Result result;
                try
                {
                    result = await ErrorQueueReplayer.ReplayAsync(url, name, parse.GetValue(limit), cancellationToken);
                }
                catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException ex)
                {
                    await stderr.WriteLineAsync($"error: cannot reach RabbitMQ at {url.Host}:{url.Port}: {ex.InnerException?.Message ?? ex.Message}");
                    return 1;
                }

                if (result.Problem is { } problem)
                {
                    await stdout.WriteLineAsync($"{result.Queue}: {problem}");
                    continue;
                }

                await stdout.WriteLineAsync($"{result.Queue}: moved {result.Moved} message(s) from {result.ErrorQueue} back to {result.Queue}");
            }

            return 0;
        });
        return command;
    }
}
