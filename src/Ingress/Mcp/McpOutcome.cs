using ModelContextProtocol.Protocol;

namespace Broker.Ingress.Mcp;

/// <summary>A tool call's result, or why there is none: <paramref name="Status"/> is the HTTP status /mcp-rest answers with.</summary>
public sealed record McpCallOutcome(CallToolResult? Result, int Status, string? Error, string Code)
{
    public static McpCallOutcome Ok(CallToolResult result) => new(result, 200, null, "ok");
}
