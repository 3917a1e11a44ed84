using Broker.Config.Model;

namespace Broker.Config;

/// <summary>Gives the current config snapshot (hot reload can later swap it atomically).</summary>
public interface IProxyConfigProvider
{
    ProxyConfig Current { get; }
}

/// <summary>
/// Holds the snapshot loaded from config.yaml (<see cref="FileConfig"/>) and the one in force (<see cref="Current"/>):
/// the file's, with the runtime models of the state store merged in (<see cref="Swap"/>). Readers take
/// <see cref="Current"/> once per use, so a swap is atomic for each of them.
/// </summary>
public sealed class ProxyConfigProvider(ProxyConfig config, Func<string, string?>? getEnvironmentVariable = null) : IProxyConfigProvider
{
    private volatile ProxyConfig _current = config;

    public ProxyConfig Current => _current;

    /// <summary>The snapshot config.yaml gave, without runtime models.</summary>
    public ProxyConfig FileConfig { get; } = config;

    /// <summary>The lookup <c>os.environ/NAME</c> references resolve through (the process environment unless given).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; } = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;

    /// <summary>Puts <paramref name="next"/> in force.</summary>
    public void Swap(ProxyConfig next)
    {
        ArgumentNullException.ThrowIfNull(next);
        _current = next;
    }
}
