using System.Text.RegularExpressions;
using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

/// <summary>
/// Every <c>yaml</c> example in README.md and docs/*.md loads without an error, so the documentation cannot drift
/// from the loader. An example without a <c>model_list</c> is loaded beside a one-model list; every
/// <c>os.environ/NAME</c> it names resolves to a dummy value.
/// </summary>
public sealed partial class DocsExamplesTests
{
    private const string MinimalModelList = """
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_key: sk-docs-example}

        """;

    public static TheoryData<string, int> Examples()
    {
        var data = new TheoryData<string, int>();
        foreach (var (page, index, _) in AllExamples())
        {
            data.Add(page, index);
        }

        return data;
    }

    [Fact]
    public void Docs_Pages_HaveYamlExamples()
    {
        Assert.True(AllExamples().Count() >= 4, "the docs lost their yaml examples (or the pages moved)");
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Load_DocsYamlExample_HasNoErrors(string page, int index)
    {
        var yaml = AllExamples().Single(e => e.Page == page && e.Index == index).Yaml;
        if (!ModelListKey().IsMatch(yaml))
        {
            yaml = MinimalModelList + yaml;
        }

        // every variable is set; one naming an address holds a URL, as it would in a real environment
        var result = ProxyConfigLoader.LoadText(yaml, $"{page}#{index}", name =>
            name.EndsWith("_API_BASE", StringComparison.Ordinal) || name.EndsWith("_URL", StringComparison.Ordinal) ||
            name.EndsWith("_ENDPOINT", StringComparison.Ordinal) || name.EndsWith("_ISSUER", StringComparison.Ordinal)
                ? "http://127.0.0.1:9"
                : "dummy-docs-value");

        Assert.True(result.IsUsable, $"{page} example {index}:\n{yaml}\n{ConfigReport.Render(result)}");
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Error);
    }

    private static IEnumerable<(string Page, int Index, string Yaml)> AllExamples()
    {
        var root = Fixtures.RepoRoot();
        var pages = new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));
        foreach (var path in pages)
        {
            var name = Path.GetRelativePath(root, path);
            var index = 0;
            foreach (Match match in YamlFence().Matches(File.ReadAllText(path)))
            {
                yield return (name, index++, match.Groups["body"].Value);
            }
        }
    }

    [GeneratedRegex(@"^```yaml\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex YamlFence();

    [GeneratedRegex(@"^model_list:", RegexOptions.Multiline)]
    private static partial Regex ModelListKey();
}
