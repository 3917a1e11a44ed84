using System.Text;
using Broker.Config;
using Broker.Config.Loading;
using Broker.Config.Model;
using Broker.ServiceDefaults.Database;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Models;

/// <summary>
/// Keeps this process's config snapshot in step with the runtime models of the state store
/// (<c>general_settings.store_model_in_db: true</c>): config.yaml's models plus the stored ones, read with config.yaml's
/// rules, swapped in atomically. It reloads at start-up, when a <c>ModelsChanged</c> event arrives, after this process's
/// own writes, and every <see cref="ReloadInterval"/> (so a process that missed an event converges). With the flag off,
/// or no state store, the file's models are all there is.
/// </summary>
public sealed class RuntimeModels(
    IProxyConfigProvider provider, BrokerDatabase database, IModelStore store, TimeProvider time, ILogger<RuntimeModels> logger,
    TimeSpan reloadInterval) : BackgroundService
{
    /// <summary>Host setting: seconds between two reloads from the store (default 10).</summary>
    public const string ReloadSecondsSetting = "Models:ReloadSeconds";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<Func<ProxyConfig, CancellationToken, Task>> _handlers = [];
    private readonly HashSet<string> _reportedSkips = new(StringComparer.Ordinal);
    private string _fingerprint = "";

    public TimeSpan ReloadInterval { get; } = reloadInterval;

    /// <summary>True when runtime models are on: store_model_in_db, a state store, and a provider that can swap snapshots.</summary>
    public bool Enabled => provider is ProxyConfigProvider p && p.FileConfig.GeneralSettings.StoreModelInDb && database.HasStore;

    /// <summary>Why model writes are refused, or null when they are allowed.</summary>
    public string? WriteRefusal =>
        provider is not ProxyConfigProvider p || !p.FileConfig.GeneralSettings.StoreModelInDb
            ? "Models can only be added, updated or deleted at run time with general_settings.store_model_in_db: true (or STORE_MODEL_IN_DB=True). " +
              "Models in config.yaml are changed by editing the file."
            : !database.HasStore
                ? "store_model_in_db needs a state store: set general_settings.database_url (or DATABASE_URL), or run all roles in one process (embedded SQLite)."
                : null;

    /// <summary>The snapshot in force (config.yaml's models and the runtime ones).</summary>
    public ProxyConfig CurrentConfig => provider.Current;

    /// <summary>The snapshot config.yaml gave (no runtime models).</summary>
    public ProxyConfig FileConfig => provider is ProxyConfigProvider p ? p.FileConfig : provider.Current;

    /// <summary>The lookup os.environ/ references resolve through.</summary>
    public Func<string, string?> GetEnvironmentVariable =>
        provider is ProxyConfigProvider p ? p.GetEnvironmentVariable : Environment.GetEnvironmentVariable;

    /// <summary>Called (awaited) after each swap with the new snapshot; e.g. Workers connect the queues of new groups.</summary>
    public void OnChanged(Func<ProxyConfig, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_handlers)
        {
            _handlers.Add(handler);
        }
    }

    /// <summary>Reads the store and puts the merged snapshot in force when it differs; returns once the handlers ran.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        var p = (ProxyConfigProvider)provider;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var rows = await store.ListAsync(cancellationToken).ConfigureAwait(false);
            var fingerprint = Fingerprint(rows);
            if (fingerprint == _fingerprint)
            {
                return;
            }

            var entries = rows.Select(r => r.Entry).ToList();
            // laid over config.yaml's snapshot now and over every version a reload of the file brings
            p.SetOverlay(file =>
            {
                var withStored = RuntimeModelReader.Merge(file, entries, p.GetEnvironmentVariable, out var skipped);
                foreach (var (entry, errors) in skipped)
                {
                    if (_reportedSkips.Add(entry.Id + "|" + string.Join(";", errors)))
                    {
                        Log.ModelSkipped(logger, entry.ModelName, entry.Id, string.Join("; ", errors));
                    }
                }

                return withStored;
            });
            var merged = p.Current;
            _fingerprint = fingerprint;
            Log.Reloaded(logger, merged.ModelList.Count(d => d.DbModel), merged.ModelGroups.Count);
            Func<ProxyConfig, CancellationToken, Task>[] handlers;
            lock (_handlers)
            {
                handlers = [.. _handlers];
            }

            foreach (var handler in handlers)
            {
                await handler(merged, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            // the stored models are in force before the first request; a database that is down only delays them
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                bounded.CancelAfter(TimeSpan.FromSeconds(10));
                await database.WhenMigrated(bounded.Token).ConfigureAwait(false);
                await ReloadAsync(bounded.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested &&
                                       ex is OperationCanceledException or System.Data.Common.DbException or TimeoutException or InvalidOperationException)
            {
                Log.ReloadFailed(logger, ex.GetType().Name, ex.Message);
            }
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ReloadInterval, time, stoppingToken).ConfigureAwait(false);
                await database.WhenMigrated(stoppingToken).ConfigureAwait(false);
                await ReloadAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
            {
                Log.ReloadFailed(logger, ex.GetType().Name, ex.Message);
            }
        }
    }

    private static string Fingerprint(IReadOnlyList<StoredModel> rows)
    {
        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            sb.Append(row.Entry.Id).Append('\u0001').Append(row.Entry.ModelName).Append('\u0001').Append(row.Entry.LitellmParams)
                .Append('\u0001').Append(row.Entry.ModelInfo).Append('\u0002');
        }

        return sb.ToString();
    }
}
