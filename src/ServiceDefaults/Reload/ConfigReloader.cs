using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Broker.Config;
using Broker.Config.Loading;
using Broker.Config.Model;
using Broker.Contracts.Routing;
using Broker.ServiceDefaults.Observability;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Reload;

/// <summary>
/// Re-reads config.yaml while the process runs: when the file system reports a change (after a quiet
/// <see cref="ConfigReloadOptions.Debounce"/>), when its hash differs at the periodic check (file systems and mounts that
/// do not report changes), on SIGHUP, on <c>POST /config/reload</c> and when another process announces a reload on the
/// bus. A file that loads is put in force atomically (<see cref="ProxyConfigProvider.ReplaceFile"/>) and announced on the
/// bus; one that does not keeps the version in force, logs every error and marks the config stale
/// (<see cref="Stale"/>: the <c>config</c> health check, the <c>broker_config_stale</c> metric).
/// </summary>
public sealed class ConfigReloader : BackgroundService
{
    private readonly ProxyConfigProvider _provider;
    private readonly IServiceProvider _services;
    private readonly ConfigReloadOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ConfigReloader> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly List<Func<ProxyConfig, CancellationToken, Task>> _handlers = [];
    private readonly Counter<long> _reloads;
    private FileSystemWatcher? _watcher;
    private PosixSignalRegistration? _hangup;
    private string _hash = "";
    private volatile StaleConfig? _stale;

    public ConfigReloader(IProxyConfigProvider provider, IServiceProvider services, ConfigReloadOptions options, TimeProvider time,
        IMeterFactory meters, ILogger<ConfigReloader> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _provider = provider as ProxyConfigProvider ?? throw new ArgumentException("config reload needs a ProxyConfigProvider", nameof(provider));
        _services = services;
        _options = options;
        _time = time;
        _logger = logger;
        Path = System.IO.Path.GetFullPath(_provider.FileConfig.SourcePath);
        var meter = meters.Create(BrokerMetrics.MeterName);
        // Labelled by the file: the gauge stays this reloader's own even where several hosts share one process and
        // one meter name (an unlabelled gauge would be one series whose value any of them could report).
        meter.CreateObservableGauge("broker_config_stale", () => new Measurement<int>(_stale is null ? 0 : 1, new KeyValuePair<string, object?>("config", Path)),
            description: "1 while config.yaml on disk is invalid and the version loaded before it is in force");
        _reloads = meter.CreateCounter<long>("broker_config_reloads", description: "Reloads of config.yaml by outcome (reloaded, unchanged, invalid)");
        _hash = HashOf(ReadOrNull(Path));
    }

    /// <summary>This process, in <see cref="ConfigReloadRequested.InstanceId"/>.</summary>
    public Guid InstanceId { get; } = Guid.NewGuid();

    /// <summary>The config file this process reads.</summary>
    public string Path { get; }

    /// <summary>Set while the file on disk is invalid and an older version is in force; null when in step.</summary>
    public StaleConfig? Stale => _stale;

    /// <summary>Called (awaited) after each reload that put a new snapshot in force; e.g. Workers connect new groups' queues.</summary>
    public void OnChanged(Func<ProxyConfig, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_handlers)
        {
            _handlers.Add(handler);
        }
    }

    /// <summary>
    /// Reads the file and puts it in force when it loads. Without <paramref name="force"/> a file whose hash is the one
    /// last read is left alone. <paramref name="announce"/> publishes <see cref="ConfigReloadRequested"/> after a reload.
    /// </summary>
    public async Task<ConfigReloadOutcome> ReloadAsync(string trigger, bool force, bool announce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ConfigReloadOutcome outcome;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            outcome = await ReloadLockedAsync(trigger, force, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        _reloads.Add(1, new KeyValuePair<string, object?>("outcome", outcome.Status));
        if (announce && outcome.Status == ConfigReloadOutcome.Reloaded)
        {
            await AnnounceAsync(force).ConfigureAwait(false);
        }

        return outcome;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.WatchFile)
        {
            try
            {
                var directory = System.IO.Path.GetDirectoryName(Path)!;
                _watcher = new FileSystemWatcher(directory, System.IO.Path.GetFileName(Path))
                {
                    NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
                };
                _watcher.Changed += (_, _) => _changes.Writer.TryWrite(true);
                _watcher.Created += (_, _) => _changes.Writer.TryWrite(true);
                _watcher.Renamed += (_, _) => _changes.Writer.TryWrite(true);
                _watcher.EnableRaisingEvents = true;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                _watcher?.Dispose();
                _watcher = null;
                Log.NoWatch(_logger, ex.Message);
            }
        }

        try
        {
            if (HangupSignal.StopIgnoring())
            {
                Log.HangupWasIgnored(_logger);
            }

            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                // SIGHUP asks for a reload; it must not end the process
                context.Cancel = true;
                _ = Task.Run(() => SafeReloadAsync("SIGHUP", force: true, CancellationToken.None));
            });
        }
        catch (PlatformNotSupportedException)
        {
            _hangup = null;
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _hangup?.Dispose();
        _hangup = null;
        _watcher?.Dispose();
        _watcher = null;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _hangup?.Dispose();
        _watcher?.Dispose();
        _gate.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var periodic = _options.CheckInterval > TimeSpan.Zero ? PeriodicCheckAsync(stoppingToken) : Task.CompletedTask;
        try
        {
            while (await _changes.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                // editors write in several steps: read the file once it has been quiet for a moment
                do
                {
                    while (_changes.Reader.TryRead(out _))
                    {
                    }

                    await Task.Delay(_options.Debounce, _time, stoppingToken).ConfigureAwait(false);
                }
                while (_changes.Reader.TryRead(out _));

                await SafeReloadAsync("file change", force: false, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await periodic.ConfigureAwait(false);
    }

    private async Task PeriodicCheckAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(_options.CheckInterval, _time, stoppingToken).ConfigureAwait(false);
                await SafeReloadAsync("periodic check", force: false, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SafeReloadAsync(string trigger, bool force, CancellationToken cancellationToken)
    {
        try
        {
            await ReloadAsync(trigger, force, announce: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
        {
            Log.HandlerFailed(_logger, ex.GetType().Name, ex.Message);
        }
    }

    private async Task<ConfigReloadOutcome> ReloadLockedAsync(string trigger, bool force, CancellationToken cancellationToken)
    {
        var text = ReadOrNull(Path);
        var hash = HashOf(text);
        if (!force && hash == _hash)
        {
            return new ConfigReloadOutcome
            {
                Status = _stale is { } stale ? ConfigReloadOutcome.Invalid : ConfigReloadOutcome.Unchanged,
                Errors = _stale?.Errors ?? [],
            };
        }

        Log.Asked(_logger, trigger);
        var loaded = text is null
            ? ProxyConfigLoader.LoadFile(Path, _provider.GetEnvironmentVariable)
            : ProxyConfigLoader.LoadText(text, _provider.FileConfig.SourcePath, _provider.GetEnvironmentVariable);
        _hash = hash;
        if (!loaded.IsUsable)
        {
            var errors = loaded.Errors.Select(e => e.ToString()).ToList();
            if (errors.Count == 0)
            {
                errors.Add(Path + ": the file gave no usable config");
            }

            foreach (var error in errors)
            {
                Log.InvalidError(_logger, trigger, error);
            }

            Log.KeptStale(_logger, Path, errors.Count);
            _stale = new StaleConfig(errors, _time.GetUtcNow());
            return new ConfigReloadOutcome { Status = ConfigReloadOutcome.Invalid, Errors = errors };
        }

        var before = _provider.Current;
        var next = loaded.Config!;
        var needRestart = RestartOnly(_provider.FileConfig, next);
        foreach (var setting in needRestart)
        {
            Log.NeedsRestart(_logger, setting);
        }

        _provider.ReplaceFile(next);
        _stale = null;
        var after = _provider.Current;
        var beforeNames = before.ModelGroups.Select(g => g.Name).ToHashSet(StringComparer.Ordinal);
        var afterNames = after.ModelGroups.Select(g => g.Name).ToHashSet(StringComparer.Ordinal);
        var added = after.ModelGroups.Select(g => g.Name).Where(n => !beforeNames.Contains(n)).ToList();
        var removed = before.ModelGroups.Select(g => g.Name).Where(n => !afterNames.Contains(n)).ToList();
        Log.Reloaded(_logger, Path, trigger, after.ModelGroups.Count, string.Join(", ", added), string.Join(", ", removed));

        Func<ProxyConfig, CancellationToken, Task>[] handlers;
        lock (_handlers)
        {
            handlers = [.. _handlers];
        }

        foreach (var handler in handlers)
        {
            try
            {
                await handler(after, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
            {
                Log.HandlerFailed(_logger, ex.GetType().Name, ex.Message);
            }
        }

        return new ConfigReloadOutcome
        {
            Status = ConfigReloadOutcome.Reloaded, AddedGroups = added, RemovedGroups = removed, NeedRestart = needRestart,
        };
    }

    private async Task AnnounceAsync(bool force)
    {
        if (_services.GetService<IBus>() is not { } bus)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await bus.Publish(new ConfigReloadRequested { InstanceId = InstanceId, Force = force }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.NotAnnounced(_logger, ex.GetType().Name);
        }
    }

    /// <summary>The settings read once at start-up that differ between two versions of the file.</summary>
    public static IReadOnlyList<string> RestartOnly(ProxyConfig before, ProxyConfig after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changed = new List<string>();
        void Check(string name, string? a, string? b)
        {
            if (!string.Equals(a, b, StringComparison.Ordinal))
            {
                changed.Add(name);
            }
        }

        Check("general_settings.database_url", before.GeneralSettings.DatabaseUrl?.Value, after.GeneralSettings.DatabaseUrl?.Value);
        Check("general_settings.pass_through_endpoints", string.Join("|", before.GeneralSettings.PassThroughEndpoints.Select(p => p.Path)),
            string.Join("|", after.GeneralSettings.PassThroughEndpoints.Select(p => p.Path)));
        Check("router_settings.redis_host/redis_port/redis_password",
            $"{before.RouterSettings.RedisHost}:{before.RouterSettings.RedisPort}:{before.RouterSettings.RedisPassword?.Value}",
            $"{after.RouterSettings.RedisHost}:{after.RouterSettings.RedisPort}:{after.RouterSettings.RedisPassword?.Value}");
        Check("litellm_settings.cache/cache_params.type",
            $"{before.LitellmSettings.Cache}:{before.LitellmSettings.CacheParams?.Type}", $"{after.LitellmSettings.Cache}:{after.LitellmSettings.CacheParams?.Type}");
        Check("litellm_settings callbacks (callbacks, success_callback, failure_callback, service_callback)", Callbacks(before.LitellmSettings), Callbacks(after.LitellmSettings));
        Check("litellm_settings.json_logs/set_verbose", $"{before.LitellmSettings.JsonLogs}:{before.LitellmSettings.SetVerbose}",
            $"{after.LitellmSettings.JsonLogs}:{after.LitellmSettings.SetVerbose}");
        Check("general_settings.store_model_in_db", before.GeneralSettings.StoreModelInDb.ToString(), after.GeneralSettings.StoreModelInDb.ToString());
        return changed;

        static string Callbacks(LitellmSettings s) =>
            string.Join(",", s.Callbacks) + "|" + string.Join(",", s.SuccessCallback) + "|" + string.Join(",", s.FailureCallback) + "|" + string.Join(",", s.ServiceCallback);
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string HashOf(string? text) =>
        text is null ? "missing" : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary>The config file on disk is invalid since <paramref name="Since"/>; the version loaded before stays in force.</summary>
public sealed record StaleConfig(IReadOnlyList<string> Errors, DateTimeOffset Since);
