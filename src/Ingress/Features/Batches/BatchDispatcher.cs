using System.Collections.Concurrent;
using System.Threading.Channels;
using Broker.Config;
using Broker.ServiceDefaults.Database;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Runs batches: validates new ones, leases their lines from PostgreSQL (<c>FOR UPDATE SKIP LOCKED</c>, so every
/// Ingress process shares the work) and sends each through its model group's queue like a live request, keeping
/// at most <see cref="IngressOptions.BatchConcurrencyShare"/> of the group's concurrency busy with batch lines so
/// live requests always find room. Each result is recorded once; cancelled, expired and finished batches are swept
/// and finalized. Everything it knows is in the database: a restarted process carries on where any other left off.
/// </summary>
public sealed class BatchDispatcher(
    BrokerDatabase database,
    IBatchStore store,
    BatchValidator validator,
    BatchFinalizer finalizer,
    BatchLineRunner runner,
    IProxyConfigProvider config,
    IngressOptions options,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<BatchDispatcher> logger) : BackgroundService, IHostedLifecycleService
{
    /// <summary>Attempts of a line that gets no answer at all before it is recorded as failed (504).</summary>
    public const int MaxAttempts = 3;

    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SemaphoreSlim _validate = new(0, 1);
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, Task> _running = new();
    private readonly ConcurrentBag<Guid> _released = [];
    private readonly Channel<LineResult> _results = Channel.CreateUnbounded<LineResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _idle = new(StringComparer.Ordinal);
    private volatile bool _newWork;
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Lines this process is running now (all groups).</summary>
    public int InFlight => _running.Count;

    /// <summary>Something changed (a batch was created or cancelled): look now instead of at the next poll.</summary>
    public void Wake()
    {
        _newWork = true;
        Signal(_validate);
        Signal(_wake);
    }

    /// <summary>
    /// Host stopping, before any hosted service stops (the bus among them): stop taking lines, give back the ones in
    /// flight and record the finished ones while the bus and the database connection still work.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (ExecuteTask is { } running)
        {
            try
            {
                await running.WaitAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
                // the host's shutdown timeout: StopAsync below ends what is left
            }
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopping.Token);
        await RunAsync(linked.Token);
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        if (!database.HasStore)
        {
            return;
        }

        await database.WhenMigrated(stoppingToken);
        // every hosted service has started, the bus among them: replies to this instance's address are received
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        Log.Started(logger, options.BatchConcurrencyShare);
        var validation = ValidateLoopAsync(stoppingToken);
        var recording = RecordLoopAsync();
        var poll = TimeSpan.FromSeconds(Math.Max(0.05, options.BatchPollSeconds));
        var lastSweep = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_newWork || lastSweep == 0 || timeProvider.GetElapsedTime(lastSweep) >= poll)
                {
                    _newWork = false;
                    _idle.Clear();
                    lastSweep = timeProvider.GetTimestamp();
                    foreach (var id in await store.SweepAsync(stoppingToken))
                    {
                        await finalizer.FinalizeAsync(id, stoppingToken);
                    }
                }

                await DispatchAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // the dispatcher outlives a database outage: everything is retried from the database's state
                Log.StepFailed(logger, ex, "dispatch");
                await Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }

            try
            {
                await _wake.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(_running.Values);
        _results.Writer.TryComplete();
        await recording;
        await validation;
        // lines this process gave up on stopping are pending again at once for any other process
        await store.ReleaseAsync(_released.ToArray(), CancellationToken.None);
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        var current = config.Current;
        var leaseUntil = timeProvider.GetUtcNow() + TimeSpan.FromSeconds(60) + runner.Timeout;
        foreach (var group in current.ModelGroups)
        {
            if (_idle.Contains(group.Name))
            {
                continue;
            }

            var cap = Math.Max(1, (int)(group.Concurrency(current.GeneralSettings) * options.BatchConcurrencyShare));
            var running = _inFlight.GetValueOrDefault(group.Name);
            var free = cap - running;
            // take lines a few at a time rather than one query per finished line
            if (free <= 0 || (running > 0 && free < Math.Max(1, cap / 8)))
            {
                continue;
            }

            var lines = await store.ClaimAsync(group.Name, free, leaseUntil, stoppingToken);
            if (lines.Count < free)
            {
                // nothing more to take for now: look again at the next sweep or when new work arrives
                _idle.Add(group.Name);
            }

            foreach (var line in lines)
            {
                _inFlight.AddOrUpdate(group.Name, 1, (_, n) => n + 1);
                _running[line.RequestId] = Task.CompletedTask;
                _running.TryUpdate(line.RequestId, RunLineAsync(line, group.Name, stoppingToken), Task.CompletedTask);
            }
        }
    }

    private async Task RunLineAsync(ClaimedLine line, string group, CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            var (status, result) = await runner.RunAsync(line, stoppingToken);
            if (status == BatchLineRunner.NoAnswer && line.Attempts < MaxAttempts)
            {
                // no worker answered in time (none running, or the answer was lost): the line waits for another try
                await store.ReleaseAsync([line.RequestId], CancellationToken.None);
                return;
            }

            _results.Writer.TryWrite(new LineResult(line.BatchId, line.LineNo, status == BatchLineRunner.NoAnswer ? BatchLineStatus.Failed : status, result));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _released.Add(line.RequestId);
        }
        catch (Exception ex)
        {
            // the line stays leased; when its lease runs out any process runs it again
            Log.StepFailed(logger, ex, $"line {line.LineNo} of {line.BatchId}");
        }
        finally
        {
            _inFlight.AddOrUpdate(group, 0, (_, n) => n - 1);
            _running.TryRemove(line.RequestId, out _);
            Signal(_wake);
        }
    }

    /// <summary>
    /// Writes finished lines' results, many per statement. A result lost with the process (not yet written) only
    /// means the line runs again when its lease runs out; a result is never recorded twice.
    /// </summary>
    private async Task RecordLoopAsync()
    {
        var pending = new List<LineResult>();
        while (pending.Count > 0 || await _results.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (pending.Count < 500 && _results.Reader.TryRead(out var result))
            {
                pending.Add(result);
            }

            try
            {
                await store.RecordManyAsync(pending, CancellationToken.None);
                pending.Clear();
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
            {
                Log.StepFailed(logger, ex, "recording results");
                if (_results.Reader.Completion.IsCompleted)
                {
                    // stopping with the database down: these lines run again when their lease runs out
                    return;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), timeProvider, CancellationToken.None);
            }
        }
    }

    private async Task ValidateLoopAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(Math.Max(0.05, options.BatchPollSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await validator.ValidateNextAsync(stoppingToken))
                {
                    _newWork = true;
                    Signal(_wake);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.StepFailed(logger, ex, "validation");
                await Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }

            try
            {
                await _validate.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static void Signal(SemaphoreSlim semaphore)
    {
        try
        {
            semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // already signalled
        }
    }

    private async Task Delay(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, timeProvider, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        _validate.Dispose();
        _stopping.Dispose();
        base.Dispose();
    }
}
