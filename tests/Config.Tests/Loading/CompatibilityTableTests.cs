using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

/// <summary>
/// docs/compatibility.md is the table <see cref="ConfigCompatibility"/> renders from the keys the loader reads (a fixture in which every
/// nested map is present once). A stale page fails the test and is rewritten, to be committed.
/// </summary>
public sealed class CompatibilityTableTests
{
    [Fact]
    public void Render_KnownKeys_MatchesDocsCompatibilityPage()
    {
        var known = ProxyConfigLoader.LoadFile(Fixtures.PathOf("compat-all-sections.yaml"), _ => "dummy").KnownKeys;

        var rendered = ConfigCompatibility.Render(known);
        var path = Path.Combine(Fixtures.RepoRoot(), "docs", "compatibility.md");
        var current = File.Exists(path) ? File.ReadAllText(path) : "";
        if (!string.Equals(current.ReplaceLineEndings("\n"), rendered.ReplaceLineEndings("\n"), StringComparison.Ordinal))
        {
            File.WriteAllText(path, rendered);
            Assert.Fail("docs/compatibility.md was stale and has been rewritten from the loader; commit it");
        }
    }

    [Theory]
    [InlineData("model_list[].litellm_params.rpm", ConfigCompatibility.Active)]
    [InlineData("litellm_settings.guardrails", ConfigCompatibility.Active)]
    [InlineData("general_settings.pass_through_endpoints[].target", ConfigCompatibility.Active)]
    public void StatusOf_Key_FollowsConfigFeatures(string pattern, string expected)
    {
        Assert.Equal(expected, ConfigCompatibility.StatusOf(pattern).Status);
    }
}
