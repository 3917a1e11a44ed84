using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

/// <summary>Golden test: the repository's own config.yaml loads usable with an empty environment.</summary>
public sealed class RepoConfigTests
{

    [Fact]
    public void Load_RepoConfigYaml_IsUsableWithNoEnvironment()
    {
        var path = Path.Combine(Fixtures.RepoRoot(), "config.yaml");

        var result = ProxyConfigLoader.LoadFile(path, _ => null);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.NotEmpty(result.Config!.ModelGroups);
    }
}
