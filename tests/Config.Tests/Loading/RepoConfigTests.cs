using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

/// <summary>Golden test: the repository's own config.yaml loads usable with an empty environment.</summary>
public sealed class RepoConfigTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return dir.FullName;
    }

    [Fact]
    public void Load_RepoConfigYaml_IsUsableWithNoEnvironment()
    {
        var path = Path.Combine(RepoRoot(), "config.yaml");

        var result = ProxyConfigLoader.LoadFile(path, _ => null);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.NotEmpty(result.Config!.ModelGroups);
    }
}
