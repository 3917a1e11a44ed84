using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Http;

/// <summary>
/// Graceful shutdown of the Ingress: counts the requests in flight (streams included) and, when the host starts
/// stopping, waits for them to finish (at most <see cref="IngressOptions.DrainSeconds"/>) before any hosted service
/// stops — the bus that carries their answers and chunks included. Meanwhile <see cref="IsStopping"/> turns the
/// liveness and readiness probes to 503 so load balancers send new traffic elsewhere.
/// </summary>
public sealed class RequestDrain(IngressOptions options, TimeProvider timeProvider, ILogger<RequestDrain> logger) : IHostedLifecycleService
{
    private int _inFlight;
    private volatile bool _stopping;
    private TaskCompletionSource _idle = NewIdle();

    public bool IsStopping => _stopping;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The middleware that counts a request while it runs (probes and metrics are not counted).</summary>
    public async Task TrackAsync(HttpContext http, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(next);
        if (http.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) ||
            http.Request.Path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase))
        {
            await next(http);
            return;
        }

        Interlocked.Increment(ref _inFlight);
        try
        {
            await next(http);
        }
        finally
        {
            if (Interlocked.Decrement(ref _inFlight) == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        var open = InFlight;
        if (open == 0)
        {
            return;
        }

        Log.Draining(logger, open, options.DrainSeconds);
        var limit = TimeSpan.FromSeconds(Math.Max(0, options.DrainSeconds));
        var started = timeProvider.GetTimestamp();
        while (InFlight > 0 && timeProvider.GetElapsedTime(started) < limit && !cancellationToken.IsCancellationRequested)
        {
            var idle = _idle = NewIdle();
            if (InFlight == 0)
            {
                break;
            }

            try
            {
                // re-checked every second: a request may start and end between the count and the wait
                await idle.Task.WaitAsync(TimeSpan.FromSeconds(1), timeProvider, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        if (InFlight > 0)
        {
            Log.DrainCut(logger, InFlight);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static TaskCompletionSource NewIdle() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
