using Broker.Config.Loading;
using Broker.Host.Composition;
using Microsoft.Extensions.Hosting;

namespace Broker.Host.Tests.Infrastructure;

/// <summary>Runs Broker in-process exactly as the <c>broker</c> command composes it: embedded, or one host per role.</summary>
public sealed class BrokerRunner : IAsyncDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(30);

    private readonly List<IHost> _hosts = [];
    private readonly string _configPath;
    private ConfigLoadResult? _loaded;
    private Uri? _rabbitMq;
    private Dictionary<string, string?> _settings = [];
    private string? _ownedDatabase;

    private BrokerRunner(string configPath) => _configPath = configPath;

    public string BaseUrl { get; private set; } = "";

    public HttpClient Http { get; private set; } = null!;

    public IReadOnlyList<IHost> Hosts => _hosts;

    /// <summary>The config file every host of this broker reads (tests edit it to reload).</summary>
    public string ConfigPath => _configPath;

    /// <summary>All roles in one process on the in-memory transport.</summary>
    public static Task<BrokerRunner> StartEmbeddedAsync(
        string yaml, IReadOnlyDictionary<string, string>? env = null, IReadOnlyDictionary<string, string?>? settings = null) =>
        StartAsync(yaml, env, null, [(BrokerRoles.All, [])], settings);

    /// <summary>Ingress, workers and billing as separate hosts over RabbitMQ.</summary>
    public static Task<BrokerRunner> StartDistributedAsync(string yaml, Uri rabbitMq, IReadOnlyDictionary<string, string>? env = null) =>
        StartAsync(yaml, env, rabbitMq, [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])]);

    public static async Task<BrokerRunner> StartAsync(
        string yaml,
        IReadOnlyDictionary<string, string>? env,
        Uri? rabbitMq,
        IReadOnlyList<(BrokerRoles Roles, string[] Groups)> processes,
        IReadOnlyDictionary<string, string?>? settings = null,
        int? concurrency = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}.yaml");
        // every broker gets its own Redis keys, so tests sharing the local Redis never see each other's routing state
        var merged = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        merged.TryAdd("Redis:KeyPrefix", $"broker-test-{Guid.NewGuid():N}");
        // the suite runs several test hosts at once on two cores: allow Redis more than production's 100 ms
        merged.TryAdd("Redis:CommandTimeoutMs", "2000");
        // a host's bus stop waits for its consumers for the drain plus 10 s whatever the stop token says (40 s by
        // default): with a 10 s drain a stop that has to wait for them still ends within StopBound. Set under the older
        // name, which a test's own Workers:DrainSeconds or Bus:ConsumerStopTimeoutSeconds overrides.
        if (!merged.ContainsKey("Workers:DrainSeconds"))
        {
            merged.TryAdd("Bus:ConsumerStopTimeoutSeconds", "10");
        }
        // with no database_url the embedded store is a SQLite file of this broker's own (deleted on dispose), not ./broker.db shared by tests
        string? ownedDatabase = null;
        if (!merged.ContainsKey("Database:EmbeddedPath"))
        {
            ownedDatabase = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}.db");
            merged["Database:EmbeddedPath"] = ownedDatabase;
        }
        await File.WriteAllTextAsync(path, yaml);
        var runner = new BrokerRunner(path) { _rabbitMq = rabbitMq, _settings = merged, _ownedDatabase = ownedDatabase };
        // as `broker` loads it: a key manager (general_settings.key_management_system) is read before the config
        var loaded = await Broker.Host.Secrets.SecretConfigLoader.LoadFileAsync(
            path, name => env is not null && env.TryGetValue(name, out var v) ? v : null, CancellationToken.None);
        runner._loaded = loaded;
        if (!loaded.IsUsable)
        {
            throw new InvalidOperationException("test config is not usable:\n" + string.Join("\n", loaded.Diagnostics));
        }

        try
        {
            foreach (var (roles, groups) in processes)
            {
                var host = BrokerApp.Build(new RunOptions
                {
                    ConfigPath = path,
                    Roles = roles,
                    RoleGiven = rabbitMq is not null,
                    Host = "127.0.0.1",
                    Port = 0,
                    Groups = groups,
                    RabbitMqUrl = rabbitMq,
                    Settings = merged,
                    Concurrency = concurrency,
                }, loaded);
                runner._hosts.Add(host);
                await StartBoundedAsync(host);
                if (roles.HasFlag(BrokerRoles.Ingress))
                {
                    runner.BaseUrl = BrokerApp.Addresses(host)[0];
                }
            }
        }
        catch
        {
            await runner.DisposeAsync();
            throw;
        }

        runner.Http = new HttpClient { BaseAddress = new Uri(runner.BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(60) };
        return runner;
    }

    /// <summary>
    /// Starts one more process (e.g. a second worker) beside the running ones. It shares the runner's own settings (its
    /// Redis key prefix, so keys such as Idempotency-Keys never meet another test's), <paramref name="settings"/> on top.
    /// </summary>
    public async Task<IHost> AddHostAsync(BrokerRoles roles, Uri rabbitMq, int? concurrency = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var loaded = ProxyConfigLoader.LoadFile(_configPath, _ => null);
        var merged = new Dictionary<string, string?>(_settings);
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[name] = value;
        }

        var host = BrokerApp.Build(new RunOptions
        {
            ConfigPath = _configPath,
            Roles = roles,
            RoleGiven = true,
            Host = "127.0.0.1",
            Port = 0,
            RabbitMqUrl = rabbitMq,
            Concurrency = concurrency,
            Settings = merged,
        }, loaded);
        _hosts.Add(host);
        await StartBoundedAsync(host);
        return host;
    }

    /// <summary>Starts one more host (e.g. a second worker) with the same config, bus and settings (Redis too).</summary>
    public async Task<IHost> StartHostAsync(BrokerRoles roles)
    {
        var host = BrokerApp.Build(new RunOptions
        {
            ConfigPath = _configPath,
            Roles = roles,
            RoleGiven = _rabbitMq is not null,
            Host = "127.0.0.1",
            Port = 0,
            Groups = [],
            RabbitMqUrl = _rabbitMq,
            Settings = _settings,
        }, _loaded!);
        _hosts.Add(host);
        await StartBoundedAsync(host);
        return host;
    }

    /// <summary>Stops one of the hosts (e.g. a worker) while the others keep running.</summary>
    public async Task StopHostAsync(IHost host)
    {
        _hosts.Remove(host);
        try
        {
            await StopBoundedAsync(host);
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>A host that cannot start fails its test within <see cref="StartBound"/> instead of hanging the run.</summary>
    private static Task StartBoundedAsync(IHost host) => host.StartAsync().WaitAsync(StartBound);

    /// <summary>Asks for a 10 s stop; a host that ignores it fails its test after <see cref="StopBound"/>.</summary>
    private static Task StopBoundedAsync(IHost host) => host.StopAsync(TimeSpan.FromSeconds(10)).WaitAsync(StopBound);

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        var failures = new List<Exception>();
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            try
            {
                await StopBoundedAsync(_hosts[i]);
            }
            catch (Exception ex)
            {
                failures.Add(ex); // the other hosts are still stopped
            }
            finally
            {
                _hosts[i].Dispose();
            }
        }

        _hosts.Clear();
        File.Delete(_configPath);
        if (_ownedDatabase is not null)
        {
            // idle pooled connections keep the file open: close them, then remove the file and its WAL
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(_ownedDatabase + suffix);
            }
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("a Broker host did not stop", failures);
        }
    }
}
