using System.Collections.Concurrent;

namespace Broker.Workers.Inference;

/// <summary>The streamed requests this worker process is serving, so a client's disconnect can stop them.</summary>
public sealed class StreamCancellations
{
    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> _running = new();

    public void Add(Guid requestId, CancellationTokenSource cancellation) => _running[requestId] = cancellation;

    public void Remove(Guid requestId) => _running.TryRemove(requestId, out _);

    public bool Cancel(Guid requestId)
    {
        if (_running.TryRemove(requestId, out var cancellation))
        {
            try
            {
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                return false;
            }

            return true;
        }

        return false;
    }
}
