using Broker.Config.Loading;
using Broker.Config.Model;

namespace Broker.Config.Tests.Loading;

public sealed class McpReaderTests
{
    private const string Models = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n";

    [Fact]
    public void Load_SeedMcpSnippet_IsActiveWithAliasPrefixAndWarnsAboutTheAliasWithoutServer()
    {
        var result = Fixtures.Load("seed-responses-mcp.yaml", Fixtures.SeedEnvironment);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Message == ConfigFeatures.NotActiveMessage && d.Path.Contains("mcp", StringComparison.Ordinal));
        var server = Assert.Single(result.Config!.Mcp.Servers);
        Assert.Equal("github_mcp_server", server.Name);
        Assert.Equal("github", server.Prefix);
        Assert.Equal(McpTransport.Stdio, server.Transport);
        Assert.Equal("npx", server.Command);
        Assert.Equal(["@modelcontextprotocol/server-github"], server.Args);
        var warning = Assert.Single(result.Diagnostics, d => d.Path == "litellm_settings.mcp_aliases.zapier");
        Assert.Equal(ConfigSeverity.Warning, warning.Severity);
        Assert.Contains("zapier_mcp_server", warning.Message, StringComparison.Ordinal);
        Assert.True(warning.Line > 1);
        Assert.Equal((server, "create_issue"), result.Config.Mcp.Resolve("github-create_issue"));
        Assert.Equal((server, "create_issue"), result.Config.Mcp.Resolve("github_mcp_server-create_issue"));
    }

    [Fact]
    public void Load_TopLevelMcpServersMap_ReadsTransportsAndResolvesEnv()
    {
        var yaml = Models + """
            mcp_servers:
              circleci:
                transport: stdio
                command: npx
                args: ["-y", "@circleci/mcp-server-circleci"]
                env: { CIRCLECI_TOKEN: os.environ/CIRCLECI_TOKEN }
              fetch:
                url: http://127.0.0.1:8000/mcp
                transport: http
                description: fetches pages
              zapier:
                url: https://actions.zapier.com/mcp/sse
                transport: sse
              plain:
                url: http://127.0.0.1:8001/mcp
            """;

        var result = Fixtures.Text(yaml, new Dictionary<string, string> { ["CIRCLECI_TOKEN"] = "token-1" });

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity != ConfigSeverity.Info);
        var servers = result.Config!.Mcp.Servers.ToDictionary(s => s.Name);
        Assert.Equal("token-1", servers["circleci"].Env["CIRCLECI_TOKEN"]);
        Assert.DoesNotContain("token-1", servers["circleci"].ToString(), StringComparison.Ordinal);
        Assert.Equal(McpTransport.Http, servers["fetch"].Transport);
        Assert.Equal("fetches pages", servers["fetch"].Description);
        Assert.Equal(McpTransport.Sse, servers["zapier"].Transport);
        Assert.Equal(McpTransport.HttpOrSse, servers["plain"].Transport);
    }

    [Fact]
    public void Load_BadMcpServers_ReportsEveryProblemAtOnce()
    {
        var yaml = Models + """
            litellm_settings:
              mcp_servers:
                - name: twice
                  command: node
                - command: node
            mcp_servers:
              twice: { command: node }
              weird: { transport: websocket, url: "http://127.0.0.1:1/mcp" }
              nothing: { args: ["x"] }
              nourl: { transport: http }
              badurl: { url: "ftp://example/mcp" }
              both: { command: node, url: "http://127.0.0.1:1/mcp" }
              secret: { command: node, env: { TOKEN: os.environ/MCP_TOKEN_UNSET } }
            """;

        var result = Fixtures.Text(yaml);

        Assert.False(result.IsUsable);
        var errors = result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Error).Select(d => d.Path).ToList();
        Assert.Contains("litellm_settings.mcp_servers[1].name", errors);
        Assert.Contains("mcp_servers.twice", errors);
        Assert.Contains("mcp_servers.weird.transport", errors);
        Assert.Contains("mcp_servers.nothing.command", errors);
        Assert.Contains("mcp_servers.nourl.url", errors);
        Assert.Contains("mcp_servers.badurl.url", errors);
        Assert.Contains("mcp_servers.both.command", errors);
        Assert.Contains("mcp_servers.secret.env.TOKEN", errors);
        Assert.All(result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Error), d => Assert.True(d.Line > 1, d.ToString()));
    }
}
