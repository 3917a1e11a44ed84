using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

// A tiny stdio MCP server for Broker's gateway tests: tools "echo" (returns its text), "pid" (this process's id, so a
// test can kill it) and "env" (an environment variable, so a test can see the config's env reach the child); a prompt
// "greet" (argument "name"); a resource test://{SERVER_NAME}/readme and a template test://{SERVER_NAME}/item/{id}, whose
// texts name the server (SERVER_NAME from the environment, default "tester"), so a test sees which server answered.
var server = Environment.GetEnvironmentVariable("SERVER_NAME") is { Length: > 0 } named ? named : "tester";
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
        ListPromptsHandler = (_, _) => ValueTask.FromResult(new ListPromptsResult
        {
            Prompts = [new Prompt { Name = "greet", Description = "Greets someone", Arguments = [new PromptArgument { Name = "name", Required = true }] }],
        }),
        GetPromptHandler = (request, _) =>
        {
            if (request.Params?.Name != "greet")
            {
                throw new McpProtocolException("unknown prompt " + request.Params?.Name, McpErrorCode.InvalidParams);
            }

            var who = request.Params.Arguments is { } a && a.TryGetValue("name", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : "nobody";
            return ValueTask.FromResult(new GetPromptResult
            {
                Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = $"Hello, {who} (from {server})" } }],
            });
        },
        ListResourcesHandler = (_, _) => ValueTask.FromResult(new ListResourcesResult
        {
            Resources = [new Resource { Uri = $"test://{server}/readme", Name = "readme", MimeType = "text/plain" }],
        }),
        ListResourceTemplatesHandler = (_, _) => ValueTask.FromResult(new ListResourceTemplatesResult
        {
            ResourceTemplates = [new ResourceTemplate { UriTemplate = $"test://{server}/item/{{id}}", Name = "item", MimeType = "text/plain" }],
        }),
        ReadResourceHandler = (request, _) =>
        {
            var uri = request.Params?.Uri ?? "";
            var prefix = $"test://{server}/";
            var text = uri == prefix + "readme" ? $"readme of {server}"
                : uri.StartsWith(prefix + "item/", StringComparison.Ordinal) ? $"item {uri[(prefix.Length + 5)..]} of {server}"
                : throw new McpProtocolException("no resource " + uri, McpErrorCode.ResourceNotFound);
            return ValueTask.FromResult(new ReadResourceResult { Contents = [new TextResourceContents { Uri = uri, MimeType = "text/plain", Text = text }] });
        },
    },
};

await using var mcp = McpServer.Create(new StdioServerTransport("broker-test-server"), options);
await mcp.RunAsync();

static Tool Tool(string name, string description, string schema) => new()
{
    Name = name,
    Description = description,
    InputSchema = JsonDocument.Parse(schema).RootElement.Clone(),
};
