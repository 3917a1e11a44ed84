using Broker.Config.Model;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Models;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Inference;

/// <summary>
/// The queues of model groups that exist only as runtime models (<c>/model/new</c>): connected when such a group
/// appears (at start-up, once the bus runs, and after each reload), stopped when its last model is deleted (what it
/// runs finishes first). Groups of config.yaml keep the endpoints the bus was built with. A worker started with
/// <c>--groups</c> serves only the named groups, runtime or not.
/// </summary>
public sealed class RuntimeGroupEndpoints(
    RuntimeModels models, IReceiveEndpointConnector connector, DurableQueueTopology queues, IHostApplicationLifetime lifetime,
    IReadOnlyCollection<string> staticGroups, WorkersOptions options, ILogger<RuntimeGroupEndpoints> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, HostReceiveEndpointHandle> _connected = new(StringComparer.Ordinal);
    private volatile bool _busRunning;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!models.Enabled)
        {
            return Task.CompletedTask;
        }

        models.OnChanged(SyncAsync);
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

    public void Dispose() => _gate.Dispose();

    /// <summary>Connects the queues of new runtime groups and stops those of groups that are gone.</summary>
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
            var wanted = config.ModelGroups
                .Where(g => !staticGroups.Contains(g.Name) && (options.Groups.Count == 0 || options.Groups.Contains(g.Name)))
                .ToDictionary(g => g.Name, StringComparer.Ordinal);
            foreach (var (name, handle) in _connected.Where(c => !wanted.ContainsKey(c.Key)).ToList())
            {
                _connected.Remove(name);
                await handle.StopAsync(cancellationToken).ConfigureAwait(false);
                Log.RuntimeEndpointStopped(logger, name);
            }

            foreach (var group in wanted.Values.Where(g => !_connected.ContainsKey(g.Name)))
            {
                var limit = GroupConcurrency.For(group, config.GeneralSettings);
                if (options.ConcurrencyPerGroup is { } cap)
                {
                    limit = Math.Clamp(cap, 1, limit);
                }

                try
                {
                    var handle = connector.ConnectReceiveEndpoint(group.QueueName, (context, e) =>
                    {
                        // quorum queue arguments as the bus's own endpoints get them
                        queues.EndpointConfigured(e);
                        InferenceBusContribution.ConfigureGroupEndpoint(e, context, limit);
                    });
                    _connected[group.Name] = handle;
                    await handle.Ready.WaitAsync(ReadyTimeout, cancellationToken).ConfigureAwait(false);
                    Log.Consuming(logger, group.Name, group.QueueName, limit);
                }
                catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
                {
                    // the endpoint keeps trying to connect by itself (a RabbitMQ outage); another problem is in the log
                    Log.RuntimeEndpointFailed(logger, group.Name, ex.GetType().Name, ex.Message);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
