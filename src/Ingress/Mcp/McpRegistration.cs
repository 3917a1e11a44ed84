using Broker.ServiceDefaults.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelContextProtocol.Protocol;

namespace Broker.Ingress.Mcp;

public static class McpRegistration
{
    /// <summary>The MCP gateway: upstream servers kept connected by <see cref="McpGateway"/>, and the SDK's server for <c>/mcp</c>.</summary>
    public static IHostApplicationBuilder AddMcpGateway(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<McpOptions>("Mcp");
        builder.Services.AddHttpClient(nameof(McpUpstream));
        builder.Services.AddSingleton<McpGateway>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<McpGateway>());
        builder.Services.AddMcpServer(o => o.ServerInfo = new Implementation { Name = "broker", Version = "1.0" })
            .WithHttpTransport(o =>
            {
                o.Stateless = true;
                o.ConfigureSessionOptions = McpEndpoints.ConfigureSession;
            })
            .WithListToolsHandler(McpEndpoints.Refuse<ListToolsRequestParams, ListToolsResult>)
            .WithCallToolHandler(McpEndpoints.Refuse<CallToolRequestParams, CallToolResult>)
            .WithListPromptsHandler(McpEndpoints.Refuse<ListPromptsRequestParams, ListPromptsResult>)
            .WithGetPromptHandler(McpEndpoints.Refuse<GetPromptRequestParams, GetPromptResult>)
            .WithListResourcesHandler(McpEndpoints.Refuse<ListResourcesRequestParams, ListResourcesResult>)
            .WithListResourceTemplatesHandler(McpEndpoints.Refuse<ListResourceTemplatesRequestParams, ListResourceTemplatesResult>)
            .WithReadResourceHandler(McpEndpoints.Refuse<ReadResourceRequestParams, ReadResourceResult>);
        return builder;
    }
}
