using Broker.Config.Model;

namespace Broker.Config.Loading;

/// <summary>What loading config.yaml gave: the snapshot (when usable) and every diagnostic at once.</summary>
public sealed record ConfigLoadResult(ProxyConfig? Config, IReadOnlyList<ConfigDiagnostic> Diagnostics)
{
    public bool IsUsable => Config is not null && !Diagnostics.Any(d => d.Severity == ConfigSeverity.Error);

    public IEnumerable<ConfigDiagnostic> Errors => Diagnostics.Where(d => d.Severity == ConfigSeverity.Error);
}
