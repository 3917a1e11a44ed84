using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Mcp;

/// <summary>
/// The MCP gateway end to end: an embedded Broker starts the stdio servers of its config.yaml and serves their tools on
/// <c>/mcp</c> (through the official SDK's client) and <c>/mcp-rest/tools/*</c>, with Broker keys and per-key/per-team servers.
/// </summary>
public sealed class McpGatewayTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static string Yaml(string servers, string litellm = "") => $$"""
        model_list:
          - model_name: m
            litellm_params: { model: openai/m, mock_response: "hi" }
        general_settings:
          master_key: {{MasterKey}}
        {{litellm}}
        mcp_servers:
        {{servers}}
        """;

    [Fact]
    public async Task Mcp_StdioServer_ListsPrefixedToolsAndRoutesCalls()
    {
        var logs = LogCapture.Create();
        var yaml = Yaml(McpTestServers.TestServerEntry("tester", ", env: { GREETING: os.environ/TEST_GREETING }"));
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, new Dictionary<string, string> { ["TEST_GREETING"] = "from-config" }, logs.Settings);

        await using var client = await McpTestServers.ConnectAsync(broker.BaseUrl, MasterKey);
        var tools = await client.ListToolsAsync();
        Assert.Equal(["tester-echo", "tester-env", "tester-pid"], tools.Select(t => t.Name).Order().ToArray());

        var echo = await client.CallToolAsync("tester-echo", new Dictionary<string, object?> { ["text"] = "hello" });
        Assert.Equal("echo: hello", Assert.IsType<TextContentBlock>(Assert.Single(echo.Content)).Text);
        // env with os.environ/ reaches the child process
        var env = await client.CallToolAsync("tester-env", new Dictionary<string, object?> { ["name"] = "GREETING" });
        Assert.Equal("from-config", Assert.IsType<TextContentBlock>(Assert.Single(env.Content)).Text);

        // LiteLLM's REST pair: the prefixed name, or the upstream name with server_id
        var (listStatus, list) = await GetAsync(broker.Http, "mcp-rest/tools/list", MasterKey);
        Assert.Equal(HttpStatusCode.OK, listStatus);
        var listed = list!["tools"]!.AsArray();
        Assert.Contains(listed, t => t!["name"]!.GetValue<string>() == "tester-echo" && t["mcp_info"]!["server_name"]!.GetValue<string>() == "tester");
        var (callStatus, called, _) = await PostAsync(broker.Http, "mcp-rest/tools/call", MasterKey,
            new JsonObject { ["name"] = "echo", ["server_id"] = "tester", ["arguments"] = new JsonObject { ["text"] = "rest" } });
        Assert.Equal(HttpStatusCode.OK, callStatus);
        Assert.Equal("echo: rest", called!["content"]![0]!["text"]!.GetValue<string>());

        var (unknown, unknownBody, _) = await PostAsync(broker.Http, "mcp-rest/tools/call", MasterKey, new JsonObject { ["name"] = "nosuch-echo" });
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        AssertOpenAiError(unknownBody, "invalid_request_error");
        var (bad, badBody, _) = await PostAsync(broker.Http, "mcp-rest/tools/call", MasterKey, new JsonObject { ["name"] = "tester-echo", ["arguments"] = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("arguments", AssertOpenAiError(badBody, "invalid_request_error")["param"]!.GetValue<string>());

        // each call is logged and counted
        Assert.True(await EventuallyAsync(() => Task.FromResult(logs.All.Contains("MCP tool echo on tester called by admin: ok", StringComparison.Ordinal)), Patience), logs.All);
        var metrics = await broker.Http.GetStringAsync("metrics");
        Assert.Contains("broker_mcp_tool_calls", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_WithoutKey_IsRefused()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(McpTestServers.TestServerEntry("tester")));

        var (status, body) = await GetAsync(broker.Http, "mcp-rest/tools/list", null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertOpenAiError(body);
        await Assert.ThrowsAnyAsync<Exception>(async () => await McpTestServers.ConnectAsync(broker.BaseUrl, "sk-not-a-key"));
    }

    [Fact]
    public async Task Mcp_KeyAndTeamServerLists_OnlyThoseServersAreListedAndCallable()
    {
        var servers = McpTestServers.TestServerEntry("open") + "\n" + McpTestServers.TestServerEntry("secret");
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(servers));

        var keyOnly = await GenerateKeyAsync(broker.Http, new { mcp_servers = new[] { "open" } });
        var (teamStatus, _, _) = await PostAsync(broker.Http, "team/new", MasterKey, new { team_id = "t-mcp", mcp_servers = new[] { "open" } });
        Assert.Equal(HttpStatusCode.OK, teamStatus);
        var teamKey = await GenerateKeyAsync(broker.Http, new { team_id = "t-mcp" });
        var unrestricted = await GenerateKeyAsync(broker.Http, new { key_alias = "all-servers" });

        foreach (var key in new[] { keyOnly, teamKey })
        {
            await using var client = await McpTestServers.ConnectAsync(broker.BaseUrl, key);
            var tools = await client.ListToolsAsync();
            Assert.All(tools, t => Assert.StartsWith("open-", t.Name, StringComparison.Ordinal));
            Assert.NotEmpty(tools);
            var ok = await client.CallToolAsync("open-echo", new Dictionary<string, object?> { ["text"] = "x" });
            Assert.NotEqual(true, ok.IsError);

            // fail closed: a server the key may not use is refused on both routes, never called
            var refused = await Assert.ThrowsAsync<McpProtocolException>(async () =>
                await client.CallToolAsync("secret-echo", new Dictionary<string, object?> { ["text"] = "x" }));
            Assert.Contains("may not use MCP server 'secret'", refused.Message, StringComparison.Ordinal);
            var (status, body, _) = await PostAsync(broker.Http, "mcp-rest/tools/call", key,
                new JsonObject { ["name"] = "secret-echo", ["arguments"] = new JsonObject { ["text"] = "x" } });
            Assert.Equal(HttpStatusCode.Forbidden, status);
            AssertOpenAiError(body, "auth_error");
        }

        // each call is a spend-log row of the key (model mcp/<server>, cost 0)
        Assert.True(await EventuallyAsync(async () =>
        {
            var (status, rows) = await GetAsync(broker.Http, "spend/logs?api_key=" + keyOnly, MasterKey);
            return status == HttpStatusCode.OK && rows is JsonArray array && array.Any(r => r?["model"]?.GetValue<string>() == "mcp/open");
        }, Patience), "the MCP call never showed in /spend/logs");

        await using var all = await McpTestServers.ConnectAsync(broker.BaseUrl, unrestricted);
        Assert.Contains((await all.ListToolsAsync()).Select(t => t.Name), n => n == "secret-echo");

        var (badStatus, badBody, _) = await PostAsync(broker.Http, "key/generate", MasterKey, new { mcp_servers = "open" });
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
        Assert.Contains("mcp_servers", AssertOpenAiError(badBody)["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_PromptsAndResources_ListedPrefixedRoutedToTheirServerAndKeyLimited()
    {
        var servers = McpTestServers.TestServerEntry("open", ", env: { SERVER_NAME: open }") + "\n" +
                      McpTestServers.TestServerEntry("secret", ", env: { SERVER_NAME: secret }");
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(servers));

        await using (var admin = await McpTestServers.ConnectAsync(broker.BaseUrl, MasterKey))
        {
            Assert.Equal(["open-greet", "secret-greet"], (await admin.ListPromptsAsync()).Select(p => p.Name).Order().ToArray());
            var greeting = await admin.GetPromptAsync("secret-greet", new Dictionary<string, object?> { ["name"] = "Ada" });
            Assert.Equal("Hello, Ada (from secret)", Assert.IsType<TextContentBlock>(Assert.Single(greeting.Messages).Content).Text);

            // URIs as each server gave them, names prefixed; a read goes to the server that lists the URI or whose template matches it
            var resources = await admin.ListResourcesAsync();
            Assert.Equal(["open-readme test://open/readme", "secret-readme test://secret/readme"],
                resources.Select(r => r.Name + " " + r.Uri).Order().ToArray());
            Assert.Equal(["test://open/item/{id}", "test://secret/item/{id}"],
                (await admin.ListResourceTemplatesAsync()).Select(t => t.UriTemplate).Order().ToArray());
            Assert.Equal("readme of secret", Text(await admin.ReadResourceAsync("test://secret/readme")));
            Assert.Equal("item 42 of open", Text(await admin.ReadResourceAsync("test://open/item/42")));

            var unknownPrompt = await Assert.ThrowsAsync<McpProtocolException>(async () => await admin.GetPromptAsync("nosuch-greet"));
            Assert.Contains("Unknown MCP prompt", unknownPrompt.Message, StringComparison.Ordinal);
            var unknownResource = await Assert.ThrowsAsync<McpProtocolException>(async () => await admin.ReadResourceAsync("test://nowhere/readme"));
            Assert.Equal(McpErrorCode.ResourceNotFound, unknownResource.ErrorCode);
        }

        // a key limited to one server sees and reaches only that server's prompts and resources (fail closed)
        var openOnly = await GenerateKeyAsync(broker.Http, new { mcp_servers = new[] { "open" } });
        await using var limited = await McpTestServers.ConnectAsync(broker.BaseUrl, openOnly);
        Assert.Equal(["open-greet"], (await limited.ListPromptsAsync()).Select(p => p.Name).ToArray());
        Assert.Equal(["test://open/readme"], (await limited.ListResourcesAsync()).Select(r => r.Uri).ToArray());
        Assert.Equal("Hello, Bo (from open)",
            Assert.IsType<TextContentBlock>(Assert.Single((await limited.GetPromptAsync("open-greet", new Dictionary<string, object?> { ["name"] = "Bo" })).Messages).Content).Text);
        var refused = await Assert.ThrowsAsync<McpProtocolException>(async () =>
            await limited.GetPromptAsync("secret-greet", new Dictionary<string, object?> { ["name"] = "x" }));
        Assert.Contains("may not use MCP server 'secret'", refused.Message, StringComparison.Ordinal);
        var hidden = await Assert.ThrowsAsync<McpProtocolException>(async () => await limited.ReadResourceAsync("test://secret/readme"));
        Assert.Equal(McpErrorCode.ResourceNotFound, hidden.ErrorCode);

        // each prompt and read is a spend-log row of the key, like a tool call
        Assert.True(await EventuallyAsync(async () =>
        {
            var (status, rows) = await GetAsync(broker.Http, "spend/logs?api_key=" + openOnly, MasterKey);
            return status == HttpStatusCode.OK && rows is JsonArray array && array.Any(r => r?["model"]?.GetValue<string>() == "mcp/open");
        }, Patience), "the prompt call never showed in /spend/logs");

        static string Text(ReadResourceResult result) => Assert.IsType<TextResourceContents>(Assert.Single(result.Contents)).Text;
    }

    [Fact]
    public async Task Mcp_ChildProcessKilled_IsRestartedAndCallableAgainThenStoppedWithTheHost()
    {
        var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(McpTestServers.TestServerEntry("tester")));
        int second;
        try
        {
            await using var client = await McpTestServers.ConnectAsync(broker.BaseUrl, MasterKey);
            var first = await PidAsync(client);
            using (var child = Process.GetProcessById(first))
            {
                child.Kill();
                await child.WaitForExitAsync();
            }

            var again = 0;
            Assert.True(await EventuallyAsync(async () =>
            {
                try
                {
                    again = await PidAsync(client);
                    return again != first;
                }
                catch (McpProtocolException)
                {
                    return false;
                }
            }, Patience), "the killed MCP server was not restarted");
            second = again;
        }
        finally
        {
            await broker.DisposeAsync();
        }

        // the child process stops with the host
        Assert.True(await EventuallyAsync(() => Task.FromResult(!IsRunning(second)), TimeSpan.FromSeconds(30)), $"MCP server process {second} outlived the host");
    }

    [Fact]
    public async Task Mcp_ServerEverythingInSeedForm_CallsEchoThroughItsAlias()
    {
        var script = await McpTestServers.EverythingAsync();
        var litellm = $$"""
            litellm_settings:
              mcp_aliases:
                everything: everything_server
              mcp_servers:
                - name: everything_server
                  command: "node"
                  args: ["{{script}}", "stdio"]
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml("  {}", litellm));

        await using var client = await McpTestServers.ConnectAsync(broker.BaseUrl, MasterKey);
        var tools = await client.ListToolsAsync();
        Assert.Contains(tools, t => t.Name == "everything-echo");
        var echo = await client.CallToolAsync("everything-echo", new Dictionary<string, object?> { ["message"] = "through broker" });
        Assert.NotEqual(true, echo.IsError);
        Assert.Contains("through broker", Assert.IsType<TextContentBlock>(echo.Content[0]).Text, StringComparison.Ordinal);

        // its prompts and resources pass through too
        var prompts = await client.ListPromptsAsync();
        Assert.NotEmpty(prompts);
        Assert.All(prompts, p => Assert.StartsWith("everything-", p.Name, StringComparison.Ordinal));
        var simple = prompts.FirstOrDefault(p => p.ProtocolPrompt.Arguments is not { Count: > 0 } || p.ProtocolPrompt.Arguments.All(a => a.Required != true));
        Assert.True(simple is not null, "server-everything lists no prompt without required arguments: " + string.Join(", ", prompts.Select(p => p.Name)));
        Assert.NotEmpty((await client.GetPromptAsync(simple.Name)).Messages);
        var resource = (await client.ListResourcesAsync()).First();
        Assert.NotEmpty((await client.ReadResourceAsync(resource.Uri)).Contents);
    }

    [Fact]
    public async Task Mcp_HttpServer_IsCalledAsAClient()
    {
        var script = await McpTestServers.EverythingAsync();
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("node", [script, "streamableHttp"]) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var remote = Process.Start(start)!;
        try
        {
            var listening = new TaskCompletionSource();
            remote.ErrorDataReceived += (_, e) =>
            {
                if (e.Data?.Contains("listening", StringComparison.OrdinalIgnoreCase) == true)
                {
                    listening.TrySetResult();
                }
            };
            remote.BeginErrorReadLine();
            remote.BeginOutputReadLine();
            await listening.Task.WaitAsync(Patience);

            var yaml = Yaml($"  remote: {{ url: \"http://127.0.0.1:{port}/mcp\", transport: http }}");
            await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml);
            await using var client = await McpTestServers.ConnectAsync(broker.BaseUrl, MasterKey);

            Assert.Contains((await client.ListToolsAsync()).Select(t => t.Name), n => n == "remote-echo");
            var echo = await client.CallToolAsync("remote-echo", new Dictionary<string, object?> { ["message"] = "over http" });
            Assert.Contains("over http", Assert.IsType<TextContentBlock>(echo.Content[0]).Text, StringComparison.Ordinal);
        }
        finally
        {
            remote.Kill(entireProcessTree: true);
            await remote.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Mcp_UserAndTeamServerLists_IntersectedWithTheKeysAndFollowUserUpdate()
    {
        var servers = McpTestServers.TestServerEntry("open") + "\n" + McpTestServers.TestServerEntry("secret");
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(servers));
        var (userStatus, _, _) = await PostAsync(broker.Http, "user/new", MasterKey, new { user_id = "u-mcp", mcp_servers = new[] { "open" }, auto_create_key = false });
        Assert.Equal(HttpStatusCode.OK, userStatus);
        var (teamStatus, _, _) = await PostAsync(broker.Http, "team/new", MasterKey, new { team_id = "t-both", mcp_servers = new[] { "open", "secret" } });
        Assert.Equal(HttpStatusCode.OK, teamStatus);
        var userKey = await GenerateKeyAsync(broker.Http, new { user_id = "u-mcp" });
        var teamNarrowed = await GenerateKeyAsync(broker.Http, new { team_id = "t-both", mcp_servers = new[] { "secret" } });

        // the user's list caps a key that has none of its own
        Assert.Equal(["open"], await ServersOfAsync(broker, userKey));
        // key ∩ team: the team allows both, the key only secret
        Assert.Equal(["secret"], await ServersOfAsync(broker, teamNarrowed));
        var (status, body, _) = await PostAsync(broker.Http, "mcp-rest/tools/call", userKey,
            new JsonObject { ["name"] = "secret-echo", ["arguments"] = new JsonObject { ["text"] = "x" } });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        AssertOpenAiError(body, "auth_error");

        // /user/update moves the user's cap; its keys follow
        var (updated, _, _) = await PostAsync(broker.Http, "user/update", MasterKey, new { user_id = "u-mcp", mcp_servers = new[] { "secret" } });
        Assert.Equal(HttpStatusCode.OK, updated);
        Assert.True(await EventuallyAsync(async () => (await ServersOfAsync(broker, userKey)).SequenceEqual(["secret"]), Patience),
            "the user's key did not follow /user/update");
    }

    private static async Task<List<string>> ServersOfAsync(BrokerRunner broker, string key)
    {
        await using var client = await McpTestServers.ConnectAsync(broker.BaseUrl, key);
        var tools = await client.ListToolsAsync();
        return [.. tools.Select(t => t.Name[..t.Name.IndexOf('-', StringComparison.Ordinal)]).Distinct().Order(StringComparer.Ordinal)];
    }

    private static async Task<int> PidAsync(McpClient client)
    {
        var result = await client.CallToolAsync("tester-pid");
        return int.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
