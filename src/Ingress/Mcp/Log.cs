using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Mcp;

internal static partial class Log
{
    [LoggerMessage(EventId = 1901, Level = LogLevel.Information, Message = "MCP server {McpServer} connected ({Transport}, {ToolCount} tools)")]
    public static partial void Connected(ILogger logger, string mcpServer, string transport, int toolCount);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Warning, Message = "MCP server {McpServer} could not be reached ({Reason}); next try in {DelayMs} ms")]
    public static partial void ConnectFailed(ILogger logger, string mcpServer, string reason, double delayMs);

    [LoggerMessage(EventId = 1903, Level = LogLevel.Warning, Message = "MCP server {McpServer} went away ({Reason}); restarting in {DelayMs} ms")]
    public static partial void Disconnected(ILogger logger, string mcpServer, string reason, double delayMs);

    [LoggerMessage(EventId = 1904, Level = LogLevel.Information, Message = "MCP tool {McpTool} on {McpServer} called by {KeyName}: {Outcome} in {ElapsedMs} ms")]
    public static partial void ToolCalled(ILogger logger, string mcpTool, string mcpServer, string keyName, string outcome, double elapsedMs);

    [LoggerMessage(EventId = 1905, Level = LogLevel.Warning, Message = "MCP tool call {McpTool} refused for {KeyName}: {Reason}")]
    public static partial void CallRefused(ILogger logger, string mcpTool, string keyName, string reason);

    [LoggerMessage(EventId = 1906, Level = LogLevel.Debug, Message = "MCP server {McpServer}: {Line}")]
    public static partial void ServerOutput(ILogger logger, string mcpServer, string line);

    [LoggerMessage(EventId = 1907, Level = LogLevel.Warning, Message = "The usage of an MCP tool call could not be published: {Reason}")]
    public static partial void UsageNotPublished(ILogger logger, string reason);

    [LoggerMessage(EventId = 1908, Level = LogLevel.Warning, Message = "MCP server {McpServer} could not list its prompts or resources ({Reason}); left out of the list")]
    public static partial void ListFailed(ILogger logger, string mcpServer, string reason);
}
