namespace Broker.Config.Loading;

public enum ConfigSeverity
{
    /// <summary>Loaded and kept, but its behaviour is not active yet.</summary>
    Info,
    Warning,
    Error,
}

/// <summary>One problem found in config.yaml, with where it is.</summary>
public sealed record ConfigDiagnostic(ConfigSeverity Severity, string File, int Line, int Column, string Path, string Message)
{
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {Severity.ToString().ToLowerInvariant()}: {(Path.Length == 0 ? "" : Path + ": ")}{Message}";
}
