using Broker.Config.Loading;

namespace Broker.Config.Tests;

/// <summary>Loads test fixtures with a dictionary standing in for the environment.</summary>
internal static class Fixtures
{
    public static readonly Dictionary<string, string> SeedEnvironment = new(StringComparer.Ordinal)
    {
        ["OPENAI_API_KEY"] = "sk-openai-test-1111",
        ["ANTHROPIC_API_KEY"] = "sk-ant-test-2222",
        ["AZURE_API_KEY"] = "azure-test-key-3333",
        ["AWS_ACCESS_KEY_ID"] = "AKIATEST00004444",
        ["AWS_SECRET_ACCESS_KEY"] = "aws-secret-test-5555",
        ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-test-6666",
        ["LANGFUSE_SECRET_KEY"] = "sk-lf-test-7777",
    };

    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>The repository's root (the folder holding Broker.sln), found upwards from the test binaries.</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return dir.FullName;
    }

    public static ConfigLoadResult Load(string name, IReadOnlyDictionary<string, string>? env = null) =>
        ProxyConfigLoader.LoadFile(PathOf(name), Env(env));

    public static ConfigLoadResult Text(string yaml, IReadOnlyDictionary<string, string>? env = null) =>
        ProxyConfigLoader.LoadText(yaml, "config.yaml", Env(env));

    public static Func<string, string?> Env(IReadOnlyDictionary<string, string>? env) =>
        name => env is not null && env.TryGetValue(name, out var value) ? value : null;

    public static string Lines(ConfigLoadResult result, ConfigSeverity severity) =>
        string.Join("\n", result.Diagnostics.Where(d => d.Severity == severity));
}
