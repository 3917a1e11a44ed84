using Broker.Config.Model;

namespace Broker.Config;

/// <summary>Gives the current config snapshot (hot reload can later swap it atomically).</summary>
public interface IProxyConfigProvider
{
    ProxyConfig Current { get; }
}

/// <summary>Holds one loaded snapshot.</summary>
public sealed class ProxyConfigProvider(ProxyConfig config) : IProxyConfigProvider
{
    public ProxyConfig Current { get; } = config;
}
