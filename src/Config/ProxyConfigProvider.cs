using Broker.Config.Model;

namespace Broker.Config;

/// <summary>Gives the current config snapshot (a reload swaps it atomically).</summary>
public interface IProxyConfigProvider
{
    ProxyConfig Current { get; }
}

/// <summary>
/// Holds the snapshot loaded from config.yaml (<see cref="FileConfig"/>) and the one in force (<see cref="Current"/>):
/// the file's, with an overlay applied (the runtime models of the state store, <see cref="SetOverlay"/>). A reload of
/// the file (<see cref="ReplaceFile"/>) and a change of the overlay each put one new snapshot in force; readers take
/// <see cref="Current"/> once per use, so a swap is atomic for each of them. Groups a swap takes away are kept in
/// <see cref="ProxyConfig.DrainingGroups"/> so commands already queued for them still run.
/// </summary>
public sealed class ProxyConfigProvider(ProxyConfig config, Func<string, string?>? getEnvironmentVariable = null) : IProxyConfigProvider
{
    private readonly Lock _lock = new();
    private volatile ProxyConfig _current = config;
    private volatile ProxyConfig _file = config;
    private Func<ProxyConfig, ProxyConfig> _overlay = file => file;

    public ProxyConfig Current => _current;

    /// <summary>The snapshot config.yaml gave (its latest valid version), without runtime models.</summary>
    public ProxyConfig FileConfig => _file;

    /// <summary>The lookup <c>os.environ/NAME</c> references resolve through (the process environment unless given).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; } = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;

    /// <summary>Puts <paramref name="next"/> in force as it is (no overlay).</summary>
    public void Swap(ProxyConfig next)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_lock)
        {
            Publish(next);
        }
    }

    /// <summary>A new version of config.yaml: the snapshot in force becomes it with the overlay applied.</summary>
    public void ReplaceFile(ProxyConfig file)
    {
        ArgumentNullException.ThrowIfNull(file);
        lock (_lock)
        {
            _file = file;
            Publish(_overlay(file));
        }
    }

    /// <summary>What is laid over config.yaml's snapshot (e.g. the runtime models); applied now and to every later file.</summary>
    public void SetOverlay(Func<ProxyConfig, ProxyConfig> overlay)
    {
        ArgumentNullException.ThrowIfNull(overlay);
        lock (_lock)
        {
            _overlay = overlay;
            Publish(overlay(_file));
        }
    }

    private void Publish(ProxyConfig next)
    {
        var previous = _current;
        if (ReferenceEquals(previous, next))
        {
            return;
        }

        var names = next.ModelGroups.Select(g => g.Name).ToHashSet(StringComparer.Ordinal);
        var draining = previous.ModelGroups.Concat(previous.DrainingGroups)
            .Where(g => !names.Contains(g.Name))
            .DistinctBy(g => g.Name, StringComparer.Ordinal)
            .ToList();
        _current = draining.Count == 0 && next.DrainingGroups.Count == 0 ? next : next with { DrainingGroups = draining };
    }
}
