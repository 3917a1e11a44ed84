using Broker.Config;
using Broker.Config.Model;

namespace Broker.Ingress.Caching;

/// <summary>The cache settings of the config snapshot in force, computed again only when a reload changed litellm_settings.</summary>
public static class LiveCacheSettings
{
    public static Func<CacheSettings> Of(IProxyConfigProvider config)
    {
        ArgumentNullException.ThrowIfNull(config);
        (LitellmSettings Source, CacheSettings Settings)? last = null;
        var gate = new Lock();
        return () =>
        {
            var source = config.Current.LitellmSettings;
            lock (gate)
            {
                if (last is not { } l || !ReferenceEquals(l.Source, source))
                {
                    last = (source, CacheSettings.From(source));
                }

                return last.Value.Settings;
            }
        };
    }
}
