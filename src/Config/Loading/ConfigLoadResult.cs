using Broker.Config.Model;

namespace Broker.Config.Loading;

/// <summary>What loading config.yaml gave: the snapshot (when usable) and every diagnostic at once.</summary>
public sealed record ConfigLoadResult(ProxyConfig? Config, IReadOnlyList<ConfigDiagnostic> Diagnostics)
{
    public bool IsUsable => Config is not null && !Diagnostics.Any(d => d.Severity == ConfigSeverity.Error);

    public IEnumerable<ConfigDiagnostic> Errors => Diagnostics.Where(d => d.Severity == ConfigSeverity.Error);

    /// <summary>The key path patterns (<c>model_list[].litellm_params.rpm</c>) the loader's readers know; see <see cref="ConfigCompatibility"/>.</summary>
    public IReadOnlySet<string> KnownKeys { get; init; } = new HashSet<string>();

    /// <summary>
    /// The lookup the config was loaded with when it is not the environment alone (a key manager's values over it);
    /// later <c>os.environ/</c> lookups (runtime models) go through it too. Null = the environment.
    /// </summary>
    public Func<string, string?>? GetEnvironmentVariable { get; init; }
}
