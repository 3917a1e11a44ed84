using System.Collections.Concurrent;
using Broker.TestKit;

namespace Broker.Faults;

/// <summary>Durations and choices of a run (command-line options).</summary>
public sealed class FaultOptions
{
    public static readonly string[] AllFaults = ["worker-kill", "billing-kill", "ingress-kill", "saga-kill", "rabbitmq-stop", "postgres-stop", "redis-stop"];

    public const string Usage = """
        usage: Broker.Faults --broker path/to/broker.dll [options]
          --faults a,b,...         which faults, in order (default: all): worker-kill, billing-kill, ingress-kill,
                                   saga-kill, rabbitmq-stop, postgres-stop, redis-stop
          --clients N              concurrent clients (default 8)
          --before S               steady load before each fault, seconds (default 3)
          --down S                 how long a killed billing/ingress stays dead before it is started again (default 5)
          --rabbitmq-outage S      RabbitMQ stopped (stop_app) for S seconds (default 15)
          --postgres-outage S      PostgreSQL stopped for S seconds (default 30)
          --redis-outage S         Redis stopped for S seconds (default 10)
          --settle S               load kept after recovery, seconds (default 5)
          --recovery-timeout S     a fault not recovered from within S seconds is a failure (default 60)
          --client-timeout S       a client waits at most S seconds for an answer (default 60; router timeout is 30)
          --redis-timeout-ms MS    the broker processes' Redis command timeout (default 1000; production default 100)
          --strict                 also fail on what docs/guarantees.md lists as limits: lost requests
                                   in saga-kill, requests charged but reported failed, recovery slower than 5 s
          --keep                   keep the private PostgreSQL/RabbitMQ/Redis data directories
        """;

    public string BrokerDll { get; private set; } = "";

    public IReadOnlyList<string> Faults { get; private set; } = AllFaults;

    public int Clients { get; private set; } = 8;

    public TimeSpan Before { get; private set; } = TimeSpan.FromSeconds(3);

    public TimeSpan Down { get; private set; } = TimeSpan.FromSeconds(5);

    public TimeSpan RabbitMqOutage { get; private set; } = TimeSpan.FromSeconds(15);

    public TimeSpan PostgresOutage { get; private set; } = TimeSpan.FromSeconds(30);

    public TimeSpan RedisOutage { get; private set; } = TimeSpan.FromSeconds(10);

    public TimeSpan Settle { get; private set; } = TimeSpan.FromSeconds(5);

    public TimeSpan RecoveryTimeout { get; private set; } = TimeSpan.FromSeconds(60);

    public TimeSpan ClientTimeout { get; private set; } = TimeSpan.FromSeconds(60);

    public int RedisTimeoutMs { get; private set; } = 1000;

    public bool Strict { get; private set; }

    public bool Keep { get; private set; }

    public static FaultOptions? Parse(string[] args)
    {
        var options = new FaultOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            TimeSpan Seconds() => TimeSpan.FromSeconds(double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                switch (args[i])
                {
                    case "--broker": options.BrokerDll = Path.GetFullPath(Next()); break;
                    case "--faults":
                        options.Faults = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        if (options.Faults.FirstOrDefault(f => !AllFaults.Contains(f)) is { } unknown)
                        {
                            throw new ArgumentException($"unknown fault {unknown}");
                        }

                        break;
                    case "--clients": options.Clients = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--before": options.Before = Seconds(); break;
                    case "--down": options.Down = Seconds(); break;
                    case "--rabbitmq-outage": options.RabbitMqOutage = Seconds(); break;
                    case "--postgres-outage": options.PostgresOutage = Seconds(); break;
                    case "--redis-outage": options.RedisOutage = Seconds(); break;
                    case "--settle": options.Settle = Seconds(); break;
                    case "--recovery-timeout": options.RecoveryTimeout = Seconds(); break;
                    case "--client-timeout": options.ClientTimeout = Seconds(); break;
                    case "--redis-timeout-ms": options.RedisTimeoutMs = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--strict": options.Strict = true; break;
                    case "--keep": options.Keep = true; break;
                    case "--help": return null;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine(ex.Message);
                return null;
            }
        }

        if (!File.Exists(options.BrokerDll))
        {
            Console.Error.WriteLine($"--broker: '{options.BrokerDll}' does not exist (dotnet build src/Host -c Release)");
            return null;
        }

        return options;
    }
}

/// <summary>What happened during one fault's phase.</summary>
public sealed class PhaseInfo
{
    public required string Name { get; init; }

    public DateTimeOffset Injected { get; set; }

    public DateTimeOffset Ended { get; set; }

    public DateTimeOffset? RecoveredAt { get; set; }

    /// <summary>rabbitmq-stop: when every worker and Billing queue had its consumers again (null: not within the recovery timeout).</summary>
    public DateTimeOffset? ConsumersBackAt { get; set; }

    /// <summary>rabbitmq-stop: the queues still lacking consumers when the recovery timeout passed.</summary>
    public string? ConsumersMissing { get; set; }

    public string Note { get; set; } = "";

    /// <summary>Why the fleet did not serve again after this fault (the remaining faults were skipped), or null.</summary>
    public string? NotServingAgain { get; set; }
}

/// <summary>Starts the private services, the fakes and the fleet, runs the faults under load and prints the table.</summary>
public sealed class FaultSuite(FaultOptions options, string root) : IAsyncDisposable
{
    public const string MasterKey = "sk-faults-master";
    public const int Words = 12;

    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly List<PhaseInfo> _phases = [];
    private PrivateRabbitMq? _rabbit;
    private PrivatePostgres? _postgres;
    private PrivateRedis? _redis;
    private FakeUpstream? _provider;
    private FakeUpstream? _failing;
    private FakeUpstream? _backup;
    private BrokerFleet? _fleet;
    private LoadGenerator? _load;

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        Say("starting private RabbitMQ, PostgreSQL and Redis");
        var rabbit = PrivateRabbitMq.StartAsync(root);
        var postgres = PrivatePostgres.StartAsync(root);
        var redis = PrivateRedis.StartAsync(root);
        try
        {
            await Task.WhenAll(rabbit, postgres, redis);
        }
        finally
        {
            // whatever started is stopped again by DisposeAsync, even when another one failed
            _rabbit = rabbit.IsCompletedSuccessfully ? rabbit.Result : null;
            _postgres = postgres.IsCompletedSuccessfully ? postgres.Result : null;
            _redis = redis.IsCompletedSuccessfully ? redis.Result : null;
        }

        Say($"RabbitMQ {_rabbit!.Node} on {_rabbit.Port}, PostgreSQL on {_postgres!.Port}, Redis on {_redis!.Port}");

        _provider = await FakeUpstream.StartOpenAiAsync();
        _provider.Delay = TimeSpan.FromMilliseconds(150);
        _provider.ChunkDelay = TimeSpan.FromMilliseconds(40);
        _provider.ReplyTextFor = Answer;
        _failing = await FakeUpstream.StartOpenAiAsync();
        _failing.Failure = (500, """{"error":{"message":"the fake deployment fails on purpose","type":"server_error"}}""", null);
        _failing.ReplyTextFor = Answer;
        // the fallback's deployment answers slowly, so that a fallback attempt is still running when saga-kill strikes
        _backup = await FakeUpstream.StartOpenAiAsync();
        _backup.Delay = TimeSpan.FromMilliseconds(3000);
        _backup.ChunkDelay = TimeSpan.FromMilliseconds(40);
        _backup.ReplyTextFor = Answer;

        var config = Path.Combine(root, "config.yaml");
        await File.WriteAllTextAsync(config, $$"""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/gpt-4o, api_base: "{{_provider.BaseUrl}}/v1", api_key: k }
              - model_name: flaky
                litellm_params: { model: openai/gpt-4o, api_base: "{{_failing.BaseUrl}}/v1", api_key: k }
              - model_name: flaky-backup
                litellm_params: { model: openai/gpt-4o, api_base: "{{_backup.BaseUrl}}/v1", api_key: k }
            router_settings:
              timeout: 30
              num_retries: 0
              fallbacks: [{flaky: [flaky-backup]}]
            general_settings:
              master_key: {{MasterKey}}
              database_url: {{_postgres.Url}}
            """, cancel);
        var env = new Dictionary<string, string>
        {
            ["RABBITMQ_URL"] = _rabbit.Url.ToString(),
            ["REDIS_URL"] = _redis.Url,
            ["Redis__CommandTimeoutMs"] = options.RedisTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        _fleet = new BrokerFleet(options.BrokerDll, config, root, env, _rabbit.Url);
        _load = new LoadGenerator(_fleet.Ingresses.Select(i => i.Port!.Value).ToList(), MasterKey, Words, options.ClientTimeout);
        Say("starting 2 ingress, 2 workers and billing (broker processes)");
        // Billing first: it creates the database tables
        _fleet.Start(_fleet.Billing);
        await _fleet.WaitReadyAsync(_fleet.Billing, _load.Http, TimeSpan.FromSeconds(120));
        foreach (var slot in _fleet.Workers.Concat(_fleet.Ingresses))
        {
            _fleet.Start(slot);
        }

        await WaitAllReadyAsync();
        await _load.WarmUpAsync(TimeSpan.FromSeconds(90));
        Say("warm: every kind of request answered through both Ingress processes");

        using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        _load.Phase = "steady";
        var loadTask = _load.RunAsync(options.Clients, stopLoad.Token);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2), cancel);
            foreach (var fault in options.Faults)
            {
                cancel.ThrowIfCancellationRequested();
                if (!await RunFaultAsync(fault, cancel))
                {
                    Say($"{fault}: the fleet does not serve again; remaining faults skipped");
                    break;
                }
            }
        }
        finally
        {
            _load.Phase = "after";
            await stopLoad.CancelAsync();
            Say("load stopped; waiting for the requests in flight");
            await loadTask;
        }

        Say("waiting for Billing to write every usage event");
        var spend = await SettledSpendAsync(cancel);
        var report = new FaultReport(options, _phases, _load.Records, spend, _calls, Words);
        Console.WriteLine(report.Render());
        return report.Broken ? 1 : 0;
    }

    private string Answer(int call, System.Text.Json.Nodes.JsonObject body)
    {
        var tag = body["messages"]?[0]?["content"]?.ToString() ?? "?";
        _calls.AddOrUpdate(tag, 1, (_, n) => n + 1);
        return string.Join(' ', Enumerable.Range(0, Words).Select(i => $"{tag}/g{call}/w{i}"));
    }

    /// <summary>Runs one fault under the load; false when the fleet did not serve again afterwards.</summary>
    private async Task<bool> RunFaultAsync(string fault, CancellationToken cancel)
    {
        var fleet = _fleet!;
        var phase = new PhaseInfo { Name = fault };
        _phases.Add(phase);
        _load!.Phase = fault;
        Say($"{fault}: steady load");
        await Task.Delay(options.Before, cancel);
        phase.Injected = DateTimeOffset.UtcNow;
        switch (fault)
        {
            case "worker-kill":
                await fleet.KillAsync(fleet.Workers[0]);
                phase.Ended = DateTimeOffset.UtcNow;
                phase.Note = "kill -9 worker-a; worker-b carries on; worker-a started again at once";
                fleet.Start(fleet.Workers[0]);
                break;
            case "billing-kill":
                await fleet.KillAsync(fleet.Billing);
                await Task.Delay(options.Down, cancel);
                fleet.Start(fleet.Billing);
                phase.Ended = DateTimeOffset.UtcNow;
                phase.Note = $"kill -9 billing; started again after {options.Down.TotalSeconds:0} s";
                break;
            case "ingress-kill":
                await fleet.KillAsync(fleet.Ingresses[0]);
                await Task.Delay(options.Down, cancel);
                fleet.Start(fleet.Ingresses[0]);
                await fleet.WaitReadyAsync(fleet.Ingresses[0], _load.Http, TimeSpan.FromSeconds(90));
                phase.Ended = DateTimeOffset.UtcNow;
                phase.Note = $"kill -9 ingress-a (clients move to ingress-b); started again after {options.Down.TotalSeconds:0} s";
                break;
            case "saga-kill":
            {
                // the worker whose saga just sent a request's fallback attempt dies while that attempt runs
                var since = DateTimeOffset.UtcNow;
                var waited = System.Diagnostics.Stopwatch.StartNew();
                (DateTimeOffset At, string Slot, Guid RequestId) step;
                while ((step = fleet.Fallbacks.LastOrDefault(f => f.At > since)) == default)
                {
                    if (waited.Elapsed > TimeSpan.FromSeconds(30))
                    {
                        throw new TimeoutException("saga-kill: no fallback step was logged within 30 s");
                    }

                    await Task.Delay(10, cancel);
                }

                var victim = fleet.Workers.First(w => w.Name == step.Slot);
                phase.Injected = DateTimeOffset.UtcNow;
                await fleet.KillAsync(victim);
                phase.Ended = DateTimeOffset.UtcNow;
                phase.Note = $"kill -9 {victim.Name} {(phase.Ended - step.At).TotalMilliseconds:0} ms after its saga sent request {step.RequestId}'s fallback; started again at once";
                fleet.Start(victim);
                break;
            }

            case "rabbitmq-stop":
                await _rabbit!.StopAppAsync();
                await Task.Delay(options.RabbitMqOutage, cancel);
                await _rabbit.StartAppAsync();
                phase.Ended = DateTimeOffset.UtcNow;
                phase.Note = $"rabbitmqctl stop_app for {options.RabbitMqOutage.TotalSeconds:0} s, then start_app";
                break;
            case "postgres-stop":
                await _postgres!.StopServerAsync();
                await Task.Delay(options.PostgresOutage, cancel);
                await _postgres.StartServerAsync();
                phase.Ended = DateTimeOffset.UtcNow;
                phase.Note = $"pg_ctl stop -m fast for {options.PostgresOutage.TotalSeconds:0} s, then start";
                break;
            case "redis-stop":
                await _redis!.StopServerAsync();
                await Task.Delay(options.RedisOutage, cancel);
                await _redis.StartServerAsync();
                phase.Ended = DateTimeOffset.UtcNow;
                phase.Note = $"redis SHUTDOWN SAVE for {options.RedisOutage.TotalSeconds:0} s, then started again";
                break;
        }

        Say($"{fault}: injected; fault over after {(phase.Ended - phase.Injected).TotalSeconds:0.0} s; waiting for recovery");
        // after a RabbitMQ outage every role must consume again (within 5 s), not only some of them
        var consumersBack = fault == "rabbitmq-stop" ? WaitConsumersAsync(fleet, phase, cancel) : Task.CompletedTask;
        var recoveryWait = System.Diagnostics.Stopwatch.StartNew();
        while (recoveryWait.Elapsed < options.RecoveryTimeout)
        {
            var first = _load.Records.Where(r => r.Phase == fault && r.Outcome == Outcome.Ok && r.Started >= phase.Ended)
                .Select(r => (DateTimeOffset?)r.Ended).Min();
            if (first is not null)
            {
                phase.RecoveredAt = first;
                break;
            }

            await Task.Delay(100, cancel);
        }

        await Task.Delay(options.Settle, cancel);
        await consumersBack;
        foreach (var slot in fleet.All)
        {
            try
            {
                await fleet.WaitReadyAsync(slot, _load.Http, TimeSpan.FromSeconds(120));
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                // a failure of this fault's row; the process is replaced so that the next faults still run on a full
                // fleet (queue consumers do not tell which worker lacks one: every worker is replaced)
                var why = ex.Message.Split('\n')[0];
                BrokerSlot[] replaced = slot.Role == "workers" ? fleet.Workers : [slot];
                phase.NotServingAgain = (phase.NotServingAgain is null ? "" : phase.NotServingAgain + "; ") + why.Replace(slot.Name, slot.Role == "workers" ? "workers" : slot.Name, StringComparison.Ordinal);
                Say($"{fault}: {why}; killing and starting {string.Join(", ", replaced.Select(r => r.Name))} again");
                foreach (var r in replaced)
                {
                    await fleet.KillAsync(r);
                    fleet.Start(r);
                }

                try
                {
                    foreach (var r in replaced)
                    {
                        await fleet.WaitReadyAsync(r, _load.Http, TimeSpan.FromSeconds(120));
                    }
                }
                catch (Exception again) when (again is TimeoutException or InvalidOperationException)
                {
                    phase.NotServingAgain += "; new processes did not serve either: " + again.Message.Split('\n')[0];
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Polls the queues' consumers from the end of the fault until every role consumes again or the recovery timeout passes.</summary>
    private async Task WaitConsumersAsync(BrokerFleet fleet, PhaseInfo phase, CancellationToken cancel)
    {
        var missing = "";
        while (DateTimeOffset.UtcNow - phase.Ended < options.RecoveryTimeout)
        {
            missing = await fleet.MissingConsumersAsync();
            if (missing.Length == 0)
            {
                phase.ConsumersBackAt = DateTimeOffset.UtcNow;
                return;
            }

            await Task.Delay(200, cancel);
        }

        phase.ConsumersMissing = missing;
    }

    private async Task WaitAllReadyAsync()
    {
        foreach (var slot in _fleet!.All)
        {
            await _fleet.WaitReadyAsync(slot, _load!.Http, TimeSpan.FromSeconds(120));
        }
    }

    /// <summary>Spend rows per end user (= request tag) and status, once the count stopped changing for 5 s (at most 120 s).</summary>
    private async Task<IReadOnlyDictionary<string, (int Success, int Failure)>> SettledSpendAsync(CancellationToken cancel)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var last = -1;
        var stableSince = waited.Elapsed;
        var expected = _load!.Records.Count(r => r.Outcome == Outcome.Ok);
        while (true)
        {
            var rows = await SpendAsync(cancel);
            var count = rows.Values.Sum(r => r.Success + r.Failure);
            if (count != last)
            {
                last = count;
                stableSince = waited.Elapsed;
            }

            var stableFor = waited.Elapsed - stableSince;
            if ((rows.Values.Sum(r => r.Success) >= expected && stableFor > TimeSpan.FromSeconds(3)) ||
                stableFor > TimeSpan.FromSeconds(15) || waited.Elapsed > TimeSpan.FromSeconds(120))
            {
                return rows;
            }

            await Task.Delay(1000, cancel);
        }
    }

    private async Task<Dictionary<string, (int Success, int Failure)>> SpendAsync(CancellationToken cancel)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_postgres!.ConnectionString);
        await connection.OpenAsync(cancel);
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT end_user, count(*) FILTER (WHERE status = 'success'), count(*) FILTER (WHERE status <> 'success') FROM broker_spend_logs WHERE end_user IS NOT NULL GROUP BY end_user",
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancel);
        var rows = new Dictionary<string, (int, int)>();
        while (await reader.ReadAsync(cancel))
        {
            rows[reader.GetString(0)] = ((int)reader.GetInt64(1), (int)reader.GetInt64(2));
        }

        return rows;
    }

    private static void Say(string text) => Console.Error.WriteLine($"[faults {DateTimeOffset.UtcNow:HH:mm:ss}] {text}");

    public async ValueTask DisposeAsync()
    {
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }

        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }

        if (_failing is not null)
        {
            await _failing.DisposeAsync();
        }

        if (_backup is not null)
        {
            await _backup.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        if (_rabbit is not null)
        {
            await _rabbit.DisposeAsync();
        }
    }
}
