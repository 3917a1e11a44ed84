using Broker.Config.Yaml;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// State shared by one load: the file name for diagnostics, the collected diagnostics (each reported once)
/// and the environment lookup (environment_variables overlaid on the process environment).
/// </summary>
internal sealed class LoadContext(string sourceName, Func<string, string?> getEnvironmentVariable)
{
    private const string EnvPrefix = "os.environ/";

    private readonly List<ConfigDiagnostic> _diagnostics = [];
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _overlay = new(StringComparer.Ordinal);
    private string? _unsetIsWarningBecause;

    public string SourceName { get; } = sourceName;

    /// <summary>Every key path pattern a reader asked for (present or not): the loader's own list of the keys it knows.</summary>
    public HashSet<string> KnownKeys { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<ConfigDiagnostic> Diagnostics => _diagnostics;

    /// <summary>Makes an environment_variables entry visible to later lookups.</summary>
    public void SetOverlay(string name, string value) => _overlay[name] = value;

    /// <summary>Looks a variable up: environment_variables first, then the environment.</summary>
    public string? GetEnv(string name) =>
        _overlay.TryGetValue(name, out var value) ? value : getEnvironmentVariable(name);

    /// <summary>
    /// Until the returned scope ends, a missing <c>os.environ/</c> variable is a warning ending in <paramref name="reason"/>
    /// (what happens without it) instead of an error: for values Broker does not need to serve requests.
    /// </summary>
    public IDisposable UnsetVariablesWarn(string reason)
    {
        var previous = _unsetIsWarningBecause;
        _unsetIsWarningBecause = reason;
        return new Restore(this, previous);
    }

    /// <summary>True the first time a token is seen (used to report one key pattern once).</summary>
    public bool FirstTime(string token) => _reported.Add("once|" + token);

    public void Error(YamlNode? node, string path, string message) => Add(ConfigSeverity.Error, node, path, message);

    public void Warning(YamlNode? node, string path, string message) => Add(ConfigSeverity.Warning, node, path, message);

    public void Info(YamlNode? node, string path, string message) => Add(ConfigSeverity.Info, node, path, message);

    public void Add(ConfigSeverity severity, YamlNode? node, string path, string message)
    {
        var line = node is null ? 1 : (int)Math.Max(1, node.Start.Line);
        var column = node is null ? 1 : (int)Math.Max(1, node.Start.Column);
        AddAt(severity, line, column, path, message);
    }

    public void AddAt(ConfigSeverity severity, int line, int column, string path, string message)
    {
        if (_reported.Add($"{severity}|{path}|{message}"))
        {
            _diagnostics.Add(new ConfigDiagnostic(severity, SourceName, line, column, path, message));
        }
    }

    /// <summary>
    /// The scalar's text with <c>os.environ/NAME</c> resolved; null for YAML null (empty, <c>~</c>, <c>null</c>)
    /// or when the variable is missing (then an error names the path and the variable).
    /// </summary>
    public string? Resolve(YamlScalarNode node, string path)
    {
        if (YamlScalars.IsNull(node))
        {
            return null;
        }

        var text = node.Value ?? "";
        if (!text.StartsWith(EnvPrefix, StringComparison.Ordinal))
        {
            return text;
        }

        var name = text[EnvPrefix.Length..].Trim();
        var value = name.Length == 0 ? null : GetEnv(name);
        if (value is null)
        {
            if (_unsetIsWarningBecause is not null)
            {
                Warning(node, path, $"environment variable {name} is not set ({text}); {_unsetIsWarningBecause}");
            }
            else if (ConfigFeatures.IsInsideNotActive(path))
            {
                Warning(node, path, $"environment variable {name} is not set ({text}); this key is not active yet, so nothing uses it");
            }
            else
            {
                Error(node, path, $"environment variable {name} is not set ({text})");
            }
        }

        return value;
    }

    /// <summary>True when the scalar is an <c>os.environ/</c> reference (its value is then typed like a plain scalar).</summary>
    public static bool IsEnvReference(YamlScalarNode node) =>
        node.Value?.StartsWith(EnvPrefix, StringComparison.Ordinal) == true;

    private sealed class Restore(LoadContext context, string? previous) : IDisposable
    {
        public void Dispose() => context._unsetIsWarningBecause = previous;
    }
}
