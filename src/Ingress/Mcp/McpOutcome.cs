using ModelContextProtocol.Protocol;

namespace Broker.Ingress.Mcp;

/// <summary>
/// The result of a call through the gateway (a tool call, a prompt, a resource read), or why there is none:
/// <paramref name="Status"/> is the HTTP status /mcp-rest answers with.
/// </summary>
public sealed record McpOutcome<T>(T? Result, int Status, string? Error, string Code)
    where T : Result;

/// <summary>Makes <see cref="McpOutcome{T}"/> values.</summary>
public static class McpOutcome
{
    public static McpOutcome<T> Ok<T>(T result)
        where T : Result => new(result, 200, null, "ok");
}
