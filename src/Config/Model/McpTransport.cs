namespace Broker.Config.Model;

/// <summary>How Broker reaches an MCP server (<c>transport:</c> in an mcp_servers entry).</summary>
public enum McpTransport
{
    /// <summary>A child process started from <c>command</c> + <c>args</c>, spoken to over stdin/stdout.</summary>
    Stdio,

    /// <summary>Streamable HTTP at <c>url</c>.</summary>
    Http,

    /// <summary>The older HTTP+SSE transport at <c>url</c>.</summary>
    Sse,

    /// <summary>A <c>url</c> without a <c>transport</c>: Streamable HTTP, falling back to SSE.</summary>
    HttpOrSse,
}
