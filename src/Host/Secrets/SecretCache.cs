using System.Collections.Concurrent;

namespace Broker.Host.Secrets;

/// <summary>
/// The values read from a key manager, each kept for the refresh interval: a lookup after that answers the value it
/// holds and reads the manager again in the background (a failed read keeps the old value). A name the manager does
/// not hold, or one it was not asked for, comes from the environment.
/// </summary>
internal sealed class SecretCache(ISecretSource source, Func<string, string?> fallback, TimeSpan refreshInterval, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);

    public string System => source.System;

    /// <summary>How many names the manager held at the last read.</summary>
    public int Held => _entries.Values.Count(e => e.Value is not null);

    /// <summary>Reads <paramref name="name"/> from the manager now.</summary>
    public async Task LoadAsync(string name, CancellationToken cancellationToken)
    {
        var value = await source.ReadAsync(name, cancellationToken);
        _entries[name] = new Entry(value, time.GetUtcNow());
    }

    /// <summary>The manager's value of <paramref name="name"/> when it holds one, else the environment's.</summary>
    public string? Lookup(string name)
    {
        if (!_entries.TryGetValue(name, out var entry))
        {
            return fallback(name);
        }

        if (time.GetUtcNow() - entry.ReadAt >= refreshInterval && _refreshing.TryAdd(name, 0))
        {
            _ = RefreshAsync(name, entry);
        }

        return entry.Value ?? fallback(name);
    }

    private async Task RefreshAsync(string name, Entry previous)
    {
        try
        {
            if (source is AwsSecretsManagerSource aws)
            {
                aws.Forget();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await LoadAsync(name, timeout.Token);
        }
        catch (Exception ex) when (ex is SecretManagerException or OperationCanceledException)
        {
            // the manager is unreachable for now: keep the value read before, ask again after another interval
            _entries[name] = previous with { ReadAt = time.GetUtcNow() };
        }
        finally
        {
            _refreshing.TryRemove(name, out _);
        }
    }

    private sealed record Entry(string? Value, DateTimeOffset ReadAt);
}
