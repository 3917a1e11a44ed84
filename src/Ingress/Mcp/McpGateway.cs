using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Observability;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Broker.Ingress.Mcp;

/// <summary>
/// The MCP gateway: keeps every configured upstream server connected (stdio servers as child processes, stopped with
/// the host), lists their tools as one set named <c>{prefix}-{tool}</c>, and routes each call to its server after the
/// caller's permission check. Each call is logged, counted (<c>broker_mcp_tool_calls</c>,
/// <c>broker_mcp_tool_call_duration_seconds</c>) and recorded as a spend-log row (cost 0).
/// </summary>
public sealed class McpGateway : IHostedService, IAsyncDisposable
{
    private readonly IProxyConfigProvider _config;
    private readonly McpOptions _options;
    private readonly IHttpClientFactory _httpClients;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IBus _bus;
    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;
    private IReadOnlyList<McpUpstream> _upstreams = [];

    public McpGateway(
        IProxyConfigProvider config, McpOptions options, IHttpClientFactory httpClients, ILoggerFactory loggers, TimeProvider time,
        BrokerMetrics metrics, IBus bus)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggers);
        _config = config;
        _options = options;
        _httpClients = httpClients;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Broker.Ingress.Mcp");
        _time = time;
        _bus = bus;
        _calls = metrics.Meter.CreateCounter<long>("broker_mcp_tool_calls", description: "MCP tool calls through the gateway by server, tool and outcome");
        _duration = metrics.Meter.CreateHistogram<double>("broker_mcp_tool_call_duration_seconds", description: "Seconds per MCP tool call through the gateway");
    }

    private McpSettings Settings => _config.Current.Mcp;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var upstreams = Settings.Servers.Select(s => new McpUpstream(s, _options, _httpClients, _loggers, _time)).ToList();
        foreach (var upstream in upstreams)
        {
            upstream.Start();
        }

        _upstreams = upstreams;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        var upstreams = Interlocked.Exchange(ref _upstreams, []);
        await Task.WhenAll(upstreams.Select(u => u.DisposeAsync().AsTask()));
    }

    /// <summary>
    /// The tools of every server <paramref name="access"/> allows (only <paramref name="server"/>'s when given, by name or
    /// alias), prefixed. A server still starting for the first time is waited for briefly; one that is down is left out.
    /// </summary>
    public async Task<IReadOnlyList<(McpServerSettings Server, Tool Tool)>> ListToolsAsync(McpAccess access, string? server, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        var wanted = server is null ? null : Settings.Find(server);
        var upstreams = _upstreams.Where(u => access.Allows(u.Settings) && (server is null || u.Settings == wanted)).ToList();
        var wait = TimeSpan.FromSeconds(_options.ConnectWaitSeconds);
        var connections = await Task.WhenAll(upstreams.Select(u => u.ConnectionAsync(wait, onlyFirstStart: true, cancellationToken)));
        var result = new List<(McpServerSettings, Tool)>();
        for (var i = 0; i < upstreams.Count; i++)
        {
            foreach (var tool in connections[i]?.Tools ?? [])
            {
                result.Add((upstreams[i].Settings, Prefixed(upstreams[i].Settings, tool)));
            }
        }

        return result;
    }

    /// <summary>
    /// Calls <paramref name="name"/>: a prefixed name (<c>everything-echo</c>), or the upstream name with
    /// <paramref name="server"/> naming the server. Refused (403) when the caller may not use that server.
    /// </summary>
    public async Task<McpCallOutcome> CallToolAsync(
        McpAccess access, string name, string? server, IReadOnlyDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(name);
        var target = Target(name, server);
        if (target is not { } found)
        {
            var what = server is null
                ? $"Unknown MCP tool '{name}': expected <server>{McpSettings.Separator}<tool> with a configured server name or alias"
                : $"Unknown MCP server '{server}'";
            Count(server ?? "unknown", name, "unknown_tool", TimeSpan.Zero);
            return new McpCallOutcome(null, StatusCodes.Status404NotFound, what, "mcp_tool_not_found");
        }

        var (settings, tool) = found;
        if (!access.Allows(settings))
        {
            Log.CallRefused(_logger, name, access.Caller, $"this key may not use MCP server {settings.Name}");
            Count(settings.Name, tool, "refused", TimeSpan.Zero);
            return new McpCallOutcome(null, StatusCodes.Status403Forbidden,
                $"This key may not use MCP server '{settings.Prefix}' (see mcp_servers on /key/generate)", "mcp_server_not_allowed");
        }

        var started = _time.GetTimestamp();
        var upstream = _upstreams.FirstOrDefault(u => u.Settings == settings);
        var connection = upstream is null
            ? null
            : await upstream.ConnectionAsync(TimeSpan.FromSeconds(_options.ConnectWaitSeconds), onlyFirstStart: false, cancellationToken);
        if (connection is null)
        {
            return Finish(access, settings, tool, started, new McpCallOutcome(null, StatusCodes.Status503ServiceUnavailable,
                $"MCP server '{settings.Prefix}' is not available (starting or restarting); try again", "mcp_server_unavailable"));
        }

        McpCallOutcome outcome;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.CallTimeoutSeconds));
            var result = await connection.Client.CallToolAsync(new CallToolRequestParams
            {
                Name = tool,
                Arguments = arguments?.ToDictionary(a => a.Key, a => a.Value),
            }, timeout.Token);
            outcome = McpCallOutcome.Ok(result);
        }
        catch (McpProtocolException ex)
        {
            outcome = new McpCallOutcome(null, StatusCodes.Status400BadRequest, $"MCP server '{settings.Prefix}' refused the call: {ex.Message}", "mcp_call_refused");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            outcome = new McpCallOutcome(null, StatusCodes.Status504GatewayTimeout,
                $"MCP tool '{name}' did not answer within {_options.CallTimeoutSeconds} s", "mcp_call_timeout");
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            outcome = new McpCallOutcome(null, StatusCodes.Status502BadGateway,
                $"MCP server '{settings.Prefix}' failed during the call ({ex.GetType().Name}); it is restarted", "mcp_server_failed");
        }

        return Finish(access, settings, tool, started, outcome);
    }

    private (McpServerSettings Server, string Tool)? Target(string name, string? server)
    {
        if (server is null)
        {
            return Settings.Resolve(name);
        }

        if (Settings.Find(server) is not { } settings)
        {
            return null;
        }

        // LiteLLM accepts the upstream name with server_id, and the prefixed name too
        var prefixed = Settings.Resolve(name);
        return prefixed is { } p && p.Server == settings ? p : (settings, name);
    }

    private static Tool Prefixed(McpServerSettings server, Tool tool) => new()
    {
        Name = server.Prefix + McpSettings.Separator + tool.Name,
        Title = tool.Title,
        Description = tool.Description,
        InputSchema = tool.InputSchema,
        OutputSchema = tool.OutputSchema,
        Annotations = tool.Annotations,
        Icons = tool.Icons,
        Meta = tool.Meta,
    };

    private McpCallOutcome Finish(McpAccess access, McpServerSettings settings, string tool, long started, McpCallOutcome outcome)
    {
        var elapsed = _time.GetElapsedTime(started);
        var result = outcome.Result is { IsError: true } ? "tool_error" : outcome.Code;
        Log.ToolCalled(_logger, tool, settings.Name, access.Caller, result, Math.Round(elapsed.TotalMilliseconds, 1));
        Count(settings.Name, tool, result, elapsed);
        Publish(access, settings, tool, elapsed, outcome);
        return outcome;
    }

    private void Count(string server, string tool, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "mcp_server", server }, { "mcp_tool", tool }, { "outcome", outcome } };
        _calls.Add(1, tags);
        if (elapsed > TimeSpan.Zero)
        {
            _duration.Record(elapsed.TotalSeconds, tags);
        }
    }

    /// <summary>A spend-log row per call (model group <c>mcp/{server}</c>, deployment = tool, cost 0), without holding up the answer.</summary>
    private void Publish(McpAccess access, McpServerSettings settings, string tool, TimeSpan elapsed, McpCallOutcome outcome)
    {
        var succeeded = outcome.Result is { IsError: not true };
        var message = new UsageRecorded
        {
            RequestId = NewId.NextGuid(),
            ModelGroup = "mcp/" + settings.Name,
            DeploymentId = tool,
            Provider = "mcp",
            PromptTokens = 0,
            CompletionTokens = 0,
            LatencyMs = elapsed.TotalMilliseconds,
            Succeeded = succeeded,
            ErrorClass = succeeded ? null : outcome.Code,
            CompletedAt = _time.GetUtcNow(),
            Caller = access.Identity,
            Cost = 0m,
        };
        _ = PublishAsync(message);
    }

    private async Task PublishAsync(UsageRecorded message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
            await _bus.Publish(message, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.UsageNotPublished(_logger, ex.GetType().Name + ": " + ex.Message);
        }
    }
}
