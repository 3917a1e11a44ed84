using System.Diagnostics;
using System.Net.Http.Headers;
using ModelContextProtocol.Client;

namespace Broker.Host.Tests.Mcp;

/// <summary>
/// The MCP servers the gateway tests start: the tiny stdio server of tests/McpTestServer (built with this project), and
/// <c>@modelcontextprotocol/server-everything</c> from npm, installed once into a cache directory.
/// </summary>
internal static class McpTestServers
{
    public const string EverythingVersion = "2026.8.31";

    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    /// <summary>The dotnet executable running these tests (the test server is started with it).</summary>
    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>The test server's entry assembly, copied next to the tests by the project reference.</summary>
    public static string TestServerDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Broker.McpTestServer.dll");
            Assert.True(File.Exists(path), $"the MCP test server was not built next to the tests: {path}");
            return path;
        }
    }

    /// <summary>YAML for a top-level mcp_servers entry that starts the test server.</summary>
    public static string TestServerEntry(string name, string extra = "") =>
        $"  {name}: {{ transport: stdio, command: \"{Dotnet}\", args: [\"{TestServerDll}\"]{extra} }}";

    /// <summary>
    /// server-everything's entry script, installed with <c>npm install --prefix</c> into a cache directory when missing
    /// (<c>MCP_EVERYTHING_DIR</c>, default the temp folder). Fails the test loudly when it cannot be installed.
    /// </summary>
    public static async Task<string> EverythingAsync()
    {
        var dir = Environment.GetEnvironmentVariable("MCP_EVERYTHING_DIR") is { Length: > 0 } given
            ? given
            : Path.Combine(Path.GetTempPath(), $"broker-mcp-everything-{EverythingVersion}");
        var script = Path.Combine(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
        await InstallLock.WaitAsync();
        try
        {
            if (!File.Exists(script))
            {
                Directory.CreateDirectory(dir);
                var npm = new ProcessStartInfo("npm", ["install", "--prefix", dir, "--no-audit", "--no-fund", "--silent",
                    $"@modelcontextprotocol/server-everything@{EverythingVersion}"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                using var process = Process.Start(npm) ?? throw new InvalidOperationException("npm could not be started");
                var stderr = process.StandardError.ReadToEndAsync();
                await process.StandardOutput.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
                await process.WaitForExitAsync(timeout.Token);
                Assert.True(process.ExitCode == 0 && File.Exists(script),
                    $"npm install @modelcontextprotocol/server-everything@{EverythingVersion} into {dir} failed ({process.ExitCode}): {await stderr}");
            }
        }
        finally
        {
            InstallLock.Release();
        }

        return script;
    }

    /// <summary>The official SDK's client on Broker's <c>/mcp</c>, with a Broker key.</summary>
    public static Task<McpClient> ConnectAsync(string baseUrl, string key) =>
        McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(baseUrl.TrimEnd('/') + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = new AuthenticationHeaderValue("Bearer", key).ToString() },
        }));
}
