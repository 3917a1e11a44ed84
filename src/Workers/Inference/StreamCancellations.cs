using System.Collections.Concurrent;

namespace Broker.Workers.Inference;

/// <summary>
/// The streamed requests this worker process is serving, so a client's disconnect can stop them. Keyed by request and
/// attempt: a redelivered command may run here while an older attempt of the same request still winds down.
/// </summary>
public sealed class StreamCancellations
{
    private readonly ConcurrentDictionary<(Guid RequestId, Guid AttemptId), CancellationTokenSource> _running = new();

    public void Add(Guid requestId, Guid attemptId, CancellationTokenSource cancellation) => _running[(requestId, attemptId)] = cancellation;

    public void Remove(Guid requestId, Guid attemptId) => _running.TryRemove((requestId, attemptId), out _);

    /// <summary>Stops one attempt of the request, or every attempt of it running here when <paramref name="attemptId"/> is null.</summary>
    public bool Cancel(Guid requestId, Guid? attemptId = null)
    {
        var cancelled = false;
        foreach (var key in attemptId is { } attempt ? [(requestId, attempt)] : _running.Keys.Where(k => k.RequestId == requestId).ToArray())
        {
            if (_running.TryRemove(key, out var cancellation))
            {
                try
                {
                    cancellation.Cancel();
                    cancelled = true;
                }
                catch (ObjectDisposedException)
                {
                    // the attempt had just ended
                }
            }
        }

        return cancelled;
    }
}
