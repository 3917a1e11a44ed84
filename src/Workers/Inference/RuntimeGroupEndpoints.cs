using Broker.Config.Model;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Models;
using Broker.ServiceDefaults.Reload;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Inference;

/// <summary>
/// The queues of model groups that appear after the bus was built: runtime models (<c>/model/new</c>) and groups a
/// reload of config.yaml adds. Connected when such a group appears (at start-up, once the bus runs, and after each
/// change), reconnected when its concurrency limit changes, and, when the group goes away, kept consuming until its
/// queue is drained (commands queued before still run, on the removed group's deployments), then stopped. Groups of
/// config.yaml at start-up keep the endpoints the bus was built with (a removed one drains the same way, and its
/// endpoint idles until a restart). A worker started with <c>--groups</c> serves only the named groups, runtime or not.
/// </summary>
public sealed class RuntimeGroupEndpoints(
    RuntimeModels models, IReceiveEndpointConnector connector, DurableQueueTopology queues, IHostApplicationLifetime lifetime,
    IReadOnlyCollection<string> staticGroups, WorkersOptions options, IConfiguration configuration, TimeProvider time,
    ILogger<RuntimeGroupEndpoints> logger, ConfigReloader? reloader = null) : IHostedService, IDisposable
{
    /// <summary>Host setting: seconds a removed group's queue must be idle (nothing received, nothing running) before it stops (default 3).</summary>
    public const string DrainIdleSecondsSetting = "Workers:DrainIdleSeconds";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Connected> _connected = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _staticLimits = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private volatile bool _busRunning;

    private TimeSpan DrainIdle => TimeSpan.FromSeconds(configuration.GetValue<double?>(DrainIdleSecondsSetting) is { } s and > 0 ? s : 3);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var start = models.CurrentConfig;
        foreach (var group in start.ModelGroups.Where(g => staticGroups.Contains(g.Name)))
        {
            _staticLimits[group.Name] = LimitOf(group, start);
        }

        models.OnChanged(SyncAsync);
        reloader?.OnChanged(SyncAsync);
        // endpoints can be connected once the bus has started, which is after every hosted service's start
        lifetime.ApplicationStarted.Register(() => _ = Task.Run(async () =>
        {
            _busRunning = true;
            try
            {
                await SyncAsync(null, lifetime.ApplicationStopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.RuntimeEndpointFailed(logger, "*", ex.GetType().Name, ex.Message);
            }
        }));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _busRunning = false;
        await _stopping.CancelAsync().ConfigureAwait(false);
        // a sync still running (a store or bus that does not answer) must not fail the host's stop: the bus stops the
        // endpoints it connected anyway
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        _connected.Clear();
        _gate.Release();
    }

    public void Dispose()
    {
        _gate.Dispose();
        _stopping.Dispose();
    }

    private int LimitOf(ModelGroup group, ProxyConfig config)
    {
        var limit = GroupConcurrency.For(group, config.GeneralSettings);
        return options.ConcurrencyPerGroup is { } cap ? Math.Clamp(cap, 1, limit) : limit;
    }

    /// <summary>Connects the queues of new groups, reconnects those whose limit changed and drains those that are gone.</summary>
    private async Task SyncAsync(ProxyConfig? config, CancellationToken cancellationToken)
    {
        if (!_busRunning)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            config = models.CurrentConfig;
            foreach (var group in config.ModelGroups.Where(g => _staticLimits.ContainsKey(g.Name)))
            {
                var limit = LimitOf(group, config);
                if (limit != _staticLimits[group.Name])
                {
                    Log.StaticConcurrencyChanged(logger, group.Name, _staticLimits[group.Name], limit);
                    _staticLimits[group.Name] = limit;
                }
            }

            var wanted = config.ModelGroups
                .Where(g => !staticGroups.Contains(g.Name) && (options.Groups.Count == 0 || options.Groups.Contains(g.Name)))
                .ToDictionary(g => g.Name, StringComparer.Ordinal);
            foreach (var (name, connected) in _connected.Where(c => !wanted.ContainsKey(c.Key) && c.Value.Draining is null).ToList())
            {
                // what was queued before the group went away still runs (the consumer finds it among the draining groups)
                Log.Draining(logger, name);
                connected.Draining = DrainAsync(name, connected);
            }

            foreach (var group in wanted.Values)
            {
                var limit = LimitOf(group, config);
                if (_connected.TryGetValue(group.Name, out var existing))
                {
                    if (existing.Draining is not null)
                    {
                        // back before its queue drained: it keeps consuming (the drain sees it and stops waiting)
                        existing.Draining = null;
                    }

                    if (existing.Limit == limit)
                    {
                        continue;
                    }

                    Log.ConcurrencyChanged(logger, group.Name, existing.Limit, limit);
                    _connected.Remove(group.Name);
                    // what runs finishes; what was prefetched goes back to the queue and is taken with the new limit
                    await existing.Handle.StopAsync(cancellationToken).ConfigureAwait(false);
                }

                await ConnectAsync(group, limit, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ConnectAsync(ModelGroup group, int limit, CancellationToken cancellationToken)
    {
        try
        {
            var activity = new QueueActivity(time);
            var handle = connector.ConnectReceiveEndpoint(group.QueueName, (context, e) =>
            {
                // quorum queue arguments as the bus's own endpoints get them
                queues.EndpointConfigured(e);
                InferenceBusContribution.ConfigureGroupEndpoint(e, context, limit);
            });
            handle.ReceiveEndpoint.ConnectReceiveObserver(activity);
            _connected[group.Name] = new Connected(handle, limit, activity);
            await handle.Ready.WaitAsync(ReadyTimeout, cancellationToken).ConfigureAwait(false);
            Log.Consuming(logger, group.Name, group.QueueName, limit);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
        {
            // the endpoint keeps trying to connect by itself (a RabbitMQ outage); another problem is in the log
            Log.RuntimeEndpointFailed(logger, group.Name, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>Waits until the removed group's queue has been idle for <see cref="DrainIdle"/>, then stops consuming it.</summary>
    private async Task DrainAsync(string name, Connected connected)
    {
        var token = _stopping.Token;
        try
        {
            var idle = DrainIdle;
            while (true)
            {
                await Task.Delay(idle / 3, time, token).ConfigureAwait(false);
                if (!connected.Activity.IdleFor(idle))
                {
                    continue;
                }

                await _gate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    if (connected.Draining is null || !_connected.TryGetValue(name, out var current) || !ReferenceEquals(current, connected))
                    {
                        // the group came back meanwhile
                        return;
                    }

                    if (!connected.Activity.IdleFor(idle))
                    {
                        continue;
                    }

                    _connected.Remove(name);
                    await connected.Handle.StopAsync(token).ConfigureAwait(false);
                    Log.RuntimeEndpointStopped(logger, name);
                    return;
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // the host stops: the bus stops the endpoint
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.RuntimeEndpointFailed(logger, name, ex.GetType().Name, ex.Message);
        }
    }

    private sealed class Connected(HostReceiveEndpointHandle handle, int limit, QueueActivity activity)
    {
        public HostReceiveEndpointHandle Handle { get; } = handle;

        public int Limit { get; } = limit;

        public QueueActivity Activity { get; } = activity;

        /// <summary>Set while the group is gone and its queue drains.</summary>
        public Task? Draining { get; set; }
    }

    /// <summary>Messages running on one endpoint and when one last arrived or finished.</summary>
    private sealed class QueueActivity(TimeProvider time) : IReceiveObserver
    {
        private int _running;
        private long _last = time.GetTimestamp();

        public bool IdleFor(TimeSpan idle) =>
            Volatile.Read(ref _running) <= 0 && time.GetElapsedTime(Interlocked.Read(ref _last)) >= idle;

        public Task PreReceive(ReceiveContext context)
        {
            Interlocked.Increment(ref _running);
            Interlocked.Exchange(ref _last, time.GetTimestamp());
            return Task.CompletedTask;
        }

        public Task PostReceive(ReceiveContext context) => Finished();

        public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
            where T : class => Task.CompletedTask;

        public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
            where T : class => Task.CompletedTask;

        public Task ReceiveFault(ReceiveContext context, Exception exception) => Finished();

        private Task Finished()
        {
            Interlocked.Decrement(ref _running);
            Interlocked.Exchange(ref _last, time.GetTimestamp());
            return Task.CompletedTask;
        }
    }
}
