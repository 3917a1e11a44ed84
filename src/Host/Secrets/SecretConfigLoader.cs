using System.Text.RegularExpressions;
using Broker.Config.Loading;
using Broker.Config.Model;

namespace Broker.Host.Secrets;

/// <summary>
/// Loads config.yaml with general_settings.key_management_system in force: the names it references as
/// <c>os.environ/NAME</c> (or only key_management_settings.hosted_keys when given) are read from the manager first,
/// and the config is loaded with those values over the environment's. A manager that cannot be asked refuses the
/// config with an error naming the manager and the variable.
/// </summary>
public static partial class SecretConfigLoader
{
    private static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(15) };

    public static async Task<ConfigLoadResult> LoadFileAsync(
        string path, Func<string, string?> getEnvironmentVariable, CancellationToken cancellationToken, HttpClient? http = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        var first = ProxyConfigLoader.LoadFile(path, getEnvironmentVariable);
        var settings = first.Config?.GeneralSettings.KeyManagement;
        if (settings is null || !KeyManagementSystems.Active.Contains(settings.System) || !settings.Reads)
        {
            return first;
        }

        var text = await File.ReadAllTextAsync(path, cancellationToken);
        var line = LineOf(text, "key_management_system");
        var env = Overlay(first.Config!.EnvironmentVariables, getEnvironmentVariable);
        var names = settings.HostedKeys.Count > 0
            ? settings.HostedKeys.Distinct(StringComparer.Ordinal).ToList()
            : EnvReference().Matches(text).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();

        ISecretSource source;
        try
        {
            source = Create(settings, env, http ?? SharedHttp, time ?? TimeProvider.System);
        }
        catch (SecretManagerException ex)
        {
            return Refuse(first, path, line, ex.Message);
        }

        var cache = new SecretCache(source, env, settings.RefreshInterval, time ?? TimeProvider.System);
        var errors = new List<ConfigDiagnostic>();
        foreach (var name in names)
        {
            try
            {
                await cache.LoadAsync(name, cancellationToken);
            }
            catch (SecretManagerException ex)
            {
                errors.Add(Error(path, line, $"cannot read {name} (os.environ/{name}) from {settings.System}: {ex.Message}"));
                if (ex.InnerException is HttpRequestException or TaskCanceledException)
                {
                    break; // unreachable: one error says it, asking for every other name would only wait again
                }
            }
        }

        if (errors.Count > 0)
        {
            return first with { Config = null, Diagnostics = [.. first.Diagnostics.Where(d => d.Severity != ConfigSeverity.Error), .. errors] };
        }

        var loaded = ProxyConfigLoader.LoadFile(path, cache.Lookup);
        var info = new ConfigDiagnostic(ConfigSeverity.Info, path, line, 1, "general_settings.key_management_system",
            $"{cache.Held} of {names.Count} secret(s) read from {settings.System} (kept {settings.RefreshInterval}); the others come from the environment");
        var notes = source.Notes.Select(n => new ConfigDiagnostic(ConfigSeverity.Warning, path, line, 1, "general_settings.key_management_system", $"{settings.System}: {n}"));
        return loaded with { Diagnostics = [.. loaded.Diagnostics, .. notes, info], GetEnvironmentVariable = cache.Lookup };
    }

    private static ISecretSource Create(KeyManagementSettings settings, Func<string, string?> env, HttpClient http, TimeProvider time) => settings.System switch
    {
        KeyManagementSystems.HashicorpVault => new HashicorpVaultSource(http, env, settings.Endpoint),
        KeyManagementSystems.AwsSecretManager => new AwsSecretsManagerSource(http, env, settings.Endpoint, settings.PrimarySecretName, time),
        KeyManagementSystems.AwsKms => new AwsKmsSource(env, settings.Endpoint),
        KeyManagementSystems.GoogleSecretManager => new GoogleSecretManagerSource(http, env, settings.Endpoint, time),
        KeyManagementSystems.GoogleKms => new GoogleKmsSource(http, env, settings.Endpoint, settings.HostedKeys, time),
        KeyManagementSystems.AzureKeyVault => new AzureKeyVaultSource(env, settings.Endpoint),
        _ => throw new SecretManagerException($"{settings.System} is not read by Broker yet"),
    };

    /// <summary>environment_variables over the process environment (the manager's own settings may be given there).</summary>
    private static Func<string, string?> Overlay(IReadOnlyDictionary<string, string> overlay, Func<string, string?> env) =>
        name => overlay.TryGetValue(name, out var value) ? value : env(name);

    private static ConfigLoadResult Refuse(ConfigLoadResult first, string path, int line, string message) =>
        first with { Config = null, Diagnostics = [.. first.Diagnostics, Error(path, line, message)] };

    private static ConfigDiagnostic Error(string path, int line, string message) =>
        new(ConfigSeverity.Error, path, line, 1, "general_settings.key_management_system", message);

    private static int LineOf(string text, string key)
    {
        var index = text.IndexOf(key, StringComparison.Ordinal);
        return index < 0 ? 1 : text.AsSpan(0, index).Count('\n') + 1;
    }

    [GeneratedRegex(@"os\.environ/([A-Za-z_][A-Za-z0-9_.\-]*)")]
    private static partial Regex EnvReference();
}
