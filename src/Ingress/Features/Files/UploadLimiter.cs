using System.Collections.Concurrent;

namespace Broker.Ingress.Features.Files;

/// <summary>
/// Uploads in progress per owner (key) on this Ingress, at most <see cref="IngressOptions.MaxConcurrentUploadsPerKey"/>:
/// one key cannot tie up the server with slow uploads.
/// </summary>
public sealed class UploadLimiter(IngressOptions options)
{
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);

    public int Limit => options.MaxConcurrentUploadsPerKey;

    /// <summary>A slot for one upload of <paramref name="owner"/> (dispose it when the upload ends); null when all are taken.</summary>
    public IDisposable? TryEnter(string owner)
    {
        while (true)
        {
            var current = _inFlight.GetOrAdd(owner, 0);
            if (Limit > 0 && current >= Limit)
            {
                return null;
            }

            if (_inFlight.TryUpdate(owner, current + 1, current))
            {
                return new Slot(this, owner);
            }
        }
    }

    private void Exit(string owner)
    {
        while (true)
        {
            var current = _inFlight[owner];
            if (current <= 1 ? ((ICollection<KeyValuePair<string, int>>)_inFlight).Remove(new(owner, current)) : _inFlight.TryUpdate(owner, current - 1, current))
            {
                return;
            }
        }
    }

    private sealed class Slot(UploadLimiter limiter, string owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                limiter.Exit(owner);
            }
        }
    }
}
