using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Broker.Faults;

/// <summary>One <c>broker --role ...</c> process slot: killed with SIGKILL and started again under the same name.</summary>
public sealed class BrokerSlot(string name, string role, int? port)
{
    public string Name { get; } = name;

    public string Role { get; } = role;

    public int? Port { get; } = port;

    public ChildProcess? Process { get; set; }

}

/// <summary>
/// Broker run distributed on the suite's private services: two Ingress processes, two worker processes and one
/// Billing process, each a real <c>dotnet broker.dll --role ...</c> that the suite kills with SIGKILL.
/// </summary>
public sealed partial class BrokerFleet(string brokerDll, string configPath, string logDir, IReadOnlyDictionary<string, string> env, Uri rabbitMq) : IAsyncDisposable
{
    private readonly ConcurrentQueue<(DateTimeOffset At, string Slot, Guid RequestId)> _fallbacks = new();
    private int _generation;

    public BrokerSlot[] Ingresses { get; } = [new("ingress-a", "ingress", Shell.FreePort()), new("ingress-b", "ingress", Shell.FreePort())];

    public BrokerSlot[] Workers { get; } = [new("worker-a", "workers", null), new("worker-b", "workers", null)];

    public BrokerSlot Billing { get; } = new("billing", "billing", null);

    public IEnumerable<BrokerSlot> All => Ingresses.Concat(Workers).Append(Billing);

    /// <summary>Fallback steps the retry saga logged ("Request ...: fallback attempt ..."), with the slot that ran it.</summary>
    public IReadOnlyCollection<(DateTimeOffset At, string Slot, Guid RequestId)> Fallbacks => _fallbacks;

    public void StartAll()
    {
        foreach (var slot in All)
        {
            Start(slot);
        }
    }

    public void Start(BrokerSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        var generation = Interlocked.Increment(ref _generation);
        List<string> args = [brokerDll, "--config", configPath, "--role", slot.Role];
        if (slot.Port is { } port)
        {
            args.AddRange(["--host", "127.0.0.1", "--port", port.ToString()]);
        }

        var log = Path.Combine(logDir, $"{slot.Name}.log");
        File.AppendAllText(log, $"===== start #{generation} {DateTimeOffset.UtcNow:O}\n");
        slot.Process = ChildProcess.Start("dotnet", args, log, env, line => OnLine(slot, line));
    }

    public async Task KillAsync(BrokerSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (slot.Process is { } process)
        {
            // a broker process has no children: a plain SIGKILL, at once
            await process.Kill(tree: false);
            await process.DisposeAsync();
            slot.Process = null;
        }
    }

    /// <summary>
    /// Waits until the slot's process serves: an Ingress answers /health/readiness with 200; workers and Billing are
    /// counted as consumers of their queues (every live worker on every group queue and the saga queue, Billing on
    /// the usage queue).
    /// </summary>
    public async Task WaitReadyAsync(BrokerSlot slot, HttpClient http, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(http);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (slot.Process is null || slot.Process.HasExited)
            {
                throw new InvalidOperationException($"{slot.Name} exited:\n{slot.Process?.Tail}");
            }

            bool ready;
            var counts = "";
            using var probeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                ready = slot.Role switch
                {
                    "ingress" => (await http.GetAsync(new Uri($"http://127.0.0.1:{slot.Port}/health/readiness"), probeTimeout.Token)).IsSuccessStatusCode,
                    "workers" => (counts = await ConsumersAsync(WorkerQueues, Workers.Count(w => w.Process is { HasExited: false }))) == "",
                    _ => (counts = await ConsumersAsync(["billing.usage-recorded"], 1)) == "",
                };
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException
                or RabbitMQ.Client.Exceptions.RabbitMQClientException or OperationInterruptedException)
            {
                ready = false;
            }

            if (ready)
            {
                return;
            }

            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"{slot.Name} not ready within {timeout.TotalSeconds:0} s{(counts == "" ? "" : " (consumers " + counts + ")")}\n{slot.Process.Tail}");
            }

            await Task.Delay(500);
        }
    }

    /// <summary>
    /// "" when every worker queue has a consumer in each running worker and Billing's usage queue has one, else the
    /// queues that lack some ("queue n/wanted"); RabbitMQ unreachable counts as every queue lacking them.
    /// </summary>
    public async Task<string> MissingConsumersAsync()
    {
        try
        {
            var workers = await ConsumersAsync(WorkerQueues, Workers.Count(w => w.Process is { HasExited: false }));
            var billing = await ConsumersAsync(["billing.usage-recorded"], 1);
            return string.Join(", ", new[] { workers, billing }.Where(m => m.Length > 0));
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or RabbitMQ.Client.Exceptions.RabbitMQClientException or OperationInterruptedException)
        {
            return "RabbitMQ unreachable";
        }
    }

    private static readonly string[] WorkerQueues = ["model-group.chat", "model-group.flaky", "model-group.flaky-backup", "chat-completion-retries"];

    /// <summary>"" when every queue has at least <paramref name="wanted"/> consumers, else the queues that have fewer ("queue n/wanted").</summary>
    private async Task<string> ConsumersAsync(IReadOnlyList<string> queues, int wanted)
    {
        var factory = new ConnectionFactory { Uri = rabbitMq, RequestedConnectionTimeout = TimeSpan.FromSeconds(3) };
        await using var connection = await factory.CreateConnectionAsync();
        var missing = new List<string>();
        foreach (var queue in queues)
        {
            await using var channel = await connection.CreateChannelAsync();
            uint count;
            try
            {
                count = (await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount;
            }
            catch (OperationInterruptedException)
            {
                count = 0;
            }

            if (count < wanted)
            {
                missing.Add($"{queue} {count}/{wanted}");
            }
        }

        return string.Join(", ", missing);
    }

    private void OnLine(BrokerSlot slot, string line)
    {
        if (FallbackLine().Match(line) is { Success: true } match)
        {
            _fallbacks.Enqueue((DateTimeOffset.UtcNow, slot.Name, Guid.Parse(match.Groups[1].Value)));
        }
    }

    [GeneratedRegex("Request ([0-9a-f-]{36}): fallback attempt")]
    private static partial Regex FallbackLine();

    public async ValueTask DisposeAsync()
    {
        foreach (var slot in All)
        {
            await KillAsync(slot);
        }
    }
}
