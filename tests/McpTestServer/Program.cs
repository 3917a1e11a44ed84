using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

// A tiny stdio MCP server for Broker's gateway tests: tools "echo" (returns its text), "pid" (this process's id, so a
// test can kill it) and "env" (an environment variable, so a test can see the config's env reach the child).
var options = new McpServerOptions
{
    ServerInfo = new Implementation { Name = "broker-test-server", Version = "1.0" },
    Handlers = new McpServerHandlers
    {
        ListToolsHandler = (_, _) => ValueTask.FromResult(new ListToolsResult
        {
            Tools =
            [
                Tool("echo", "Returns its text", """{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"""),
                Tool("pid", "Returns this server's process id", """{"type":"object","properties":{}}"""),
                Tool("env", "Returns an environment variable", """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"""),
            ],
        }),
        CallToolHandler = (request, _) =>
        {
            var args = request.Params?.Arguments;
            string Arg(string name) => args is not null && args.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            var text = request.Params?.Name switch
            {
                "echo" => "echo: " + Arg("text"),
                "pid" => Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "env" => Environment.GetEnvironmentVariable(Arg("name")) ?? "",
                var other => null,
            };
            return ValueTask.FromResult(text is null
                ? new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "unknown tool " + request.Params?.Name }] }
                : new CallToolResult { Content = [new TextContentBlock { Text = text }] });
        },
    },
};

await using var server = McpServer.Create(new StdioServerTransport("broker-test-server"), options);
await server.RunAsync();

static Tool Tool(string name, string description, string schema) => new()
{
    Name = name,
    Description = description,
    InputSchema = JsonDocument.Parse(schema).RootElement.Clone(),
};
