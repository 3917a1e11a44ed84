using System.ComponentModel.DataAnnotations;

namespace Broker.Ingress.Mcp;

/// <summary>Host settings of the MCP gateway (section <c>Mcp</c>: <c>Mcp__CallTimeoutSeconds</c>, ...).</summary>
public sealed class McpOptions
{
    /// <summary>How long one tool call may take upstream.</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double CallTimeoutSeconds { get; set; } = 120;

    /// <summary>How long a call waits for its server while it (re)starts before it is answered 503.</summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double ConnectWaitSeconds { get; set; } = 15;

    /// <summary>How long starting a server (process start + MCP initialize) may take.</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double ConnectTimeoutSeconds { get; set; } = 30;

    /// <summary>The first restart delay; it doubles after each failed start up to <see cref="MaxRestartDelaySeconds"/>.</summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double RestartDelaySeconds { get; set; } = 0.5;

    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double MaxRestartDelaySeconds { get; set; } = 30;
}
