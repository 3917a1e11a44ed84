namespace Broker.Config.Loading;

/// <summary>Loads config.yaml into an immutable <see cref="Model.ProxyConfig"/>, reporting every problem at once.</summary>
public static class ProxyConfigLoader
{
    /// <summary>Reads and loads a file. A missing or unreadable file is an error diagnostic, not an exception.</summary>
    public static ConfigLoadResult LoadFile(string path, Func<string, string?> getEnvironmentVariable) =>
        throw new NotImplementedException();

    /// <summary>Loads YAML text; <paramref name="sourceName"/> is the file name used in diagnostics.</summary>
    public static ConfigLoadResult LoadText(string yaml, string sourceName, Func<string, string?> getEnvironmentVariable) =>
        throw new NotImplementedException();
}
