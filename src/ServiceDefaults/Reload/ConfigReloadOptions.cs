using Microsoft.Extensions.Configuration;

namespace Broker.ServiceDefaults.Reload;

/// <summary>Host settings of the config reload (section <c>Config</c>).</summary>
public sealed record ConfigReloadOptions
{
    /// <summary><c>Config:WatchFile</c> (default true): reload when the file system reports a change of config.yaml.</summary>
    public bool WatchFile { get; init; } = true;

    /// <summary><c>Config:ReloadCheckSeconds</c> (default 30; 0 turns it off): the fallback that compares the file's hash.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>Config:ReloadDebounceMs</c> (default 500): quiet time after the last change before the file is read.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(500);

    public static ConfigReloadOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new ConfigReloadOptions();
        var seconds = configuration.GetValue<double?>("Config:ReloadCheckSeconds");
        var debounce = configuration.GetValue<double?>("Config:ReloadDebounceMs");
        return new ConfigReloadOptions
        {
            WatchFile = configuration.GetValue<bool?>("Config:WatchFile") ?? defaults.WatchFile,
            CheckInterval = seconds is { } s ? TimeSpan.FromSeconds(Math.Max(0, s)) : defaults.CheckInterval,
            Debounce = debounce is { } d ? TimeSpan.FromMilliseconds(Math.Max(0, d)) : defaults.Debounce,
        };
    }
}
