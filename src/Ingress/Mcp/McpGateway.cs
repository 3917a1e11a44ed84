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
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Broker.Ingress.Mcp;

/// <summary>
/// The MCP gateway: keeps every configured upstream server connected (stdio servers as child processes, stopped with
/// the host), lists their tools (and prompts, resources and resource templates) as one set named <c>{prefix}-{name}</c>,
/// and routes each call (a prompt by its name, a resource read by its URI) to its server after the caller's permission
/// check. Each call is logged, counted (<c>broker_mcp_tool_calls</c>, <c>broker_mcp_tool_call_duration_seconds</c>; a
/// prompt as <c>prompts/get:{name}</c>, a read as <c>resources/read</c>) and recorded as a spend-log row (cost 0).
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
    public async Task<McpOutcome<CallToolResult>> CallToolAsync(
        McpAccess access, string name, string? server, IReadOnlyDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(name);
        if (Target(name, server) is not { } found)
        {
            var what = server is null
                ? $"Unknown MCP tool '{name}': expected <server>{McpSettings.Separator}<tool> with a configured server name or alias"
                : $"Unknown MCP server '{server}'";
            Count(server ?? "unknown", name, "unknown_tool", TimeSpan.Zero);
            return new(null, StatusCodes.Status404NotFound, what, "mcp_tool_not_found");
        }

        return await InvokeAsync(access, found.Server, found.Tool, name, (client, ct) => client.CallToolAsync(new CallToolRequestParams
        {
            Name = found.Tool,
            Arguments = arguments?.ToDictionary(a => a.Key, a => a.Value),
        }, ct), cancellationToken);
    }

    /// <summary>
    /// The prompts of every server <paramref name="access"/> allows that offers prompts, named <c>{prefix}-{prompt}</c>
    /// like the tools. A server that is down or fails to list them is left out.
    /// </summary>
    public Task<IReadOnlyList<Prompt>> ListPromptsAsync(McpAccess access, CancellationToken cancellationToken) =>
        CollectAsync(access, static c => c.ServerCapabilities.Prompts is not null, static async (settings, client, ct) =>
            (await client.ListPromptsAsync(cancellationToken: ct)).Select(p => Prefixed(settings, p.ProtocolPrompt)), cancellationToken);

    /// <summary>Gets the prompt <paramref name="name"/> (prefixed) from its server, after the caller's permission check.</summary>
    public async Task<McpOutcome<GetPromptResult>> GetPromptAsync(
        McpAccess access, string name, IReadOnlyDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(name);
        if (Settings.Resolve(name) is not { } found)
        {
            Count("unknown", PromptLabel(name), "unknown_prompt", TimeSpan.Zero);
            return new(null, StatusCodes.Status404NotFound,
                $"Unknown MCP prompt '{name}': expected <server>{McpSettings.Separator}<prompt> with a configured server name or alias", "mcp_prompt_not_found");
        }

        return await InvokeAsync(access, found.Server, PromptLabel(found.Tool), name, (client, ct) => client.GetPromptAsync(new GetPromptRequestParams
        {
            Name = found.Tool,
            Arguments = arguments?.ToDictionary(a => a.Key, a => a.Value),
        }, ct), cancellationToken);
    }

    /// <summary>
    /// The resources of every server <paramref name="access"/> allows that offers resources: their URIs as the server
    /// gave them (a read is routed by URI), their names prefixed like the tools.
    /// </summary>
    public Task<IReadOnlyList<Resource>> ListResourcesAsync(McpAccess access, CancellationToken cancellationToken) =>
        CollectAsync(access, OffersResources, static async (settings, client, ct) =>
            (await client.ListResourcesAsync(cancellationToken: ct)).Select(r => Prefixed(settings, r.ProtocolResource)), cancellationToken);

    /// <summary>The resource templates of every server <paramref name="access"/> allows, their names prefixed.</summary>
    public Task<IReadOnlyList<ResourceTemplate>> ListResourceTemplatesAsync(McpAccess access, CancellationToken cancellationToken) =>
        CollectAsync(access, OffersResources, static async (settings, client, ct) =>
            (await client.ListResourceTemplatesAsync(cancellationToken: ct)).Select(t => Prefixed(settings, t.ProtocolResourceTemplate)), cancellationToken);

    /// <summary>
    /// Reads <paramref name="uri"/> from the server that lists it (else the one whose resource template matches it), among
    /// the servers <paramref name="access"/> allows: a resource of any other server is not found (fail closed).
    /// </summary>
    public async Task<McpOutcome<ReadResourceResult>> ReadResourceAsync(McpAccess access, string uri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(uri);
        var owners = await CollectAsync(access, OffersResources, async (settings, client, ct) =>
        {
            var listed = (await client.ListResourcesAsync(cancellationToken: ct)).Any(r => r.Uri == uri);
            var offered = listed || (await client.ListResourceTemplatesAsync(cancellationToken: ct))
                .Any(t => McpUriTemplate.Matches(t.UriTemplate, uri));
            return offered ? [(Server: settings, Listed: listed)] : Enumerable.Empty<(McpServerSettings Server, bool Listed)>();
        }, cancellationToken);
        if (owners.OrderByDescending(o => o.Listed).Select(o => o.Server).FirstOrDefault() is not { } owner)
        {
            Count("unknown", ResourceLabel, "unknown_resource", TimeSpan.Zero);
            return new(null, StatusCodes.Status404NotFound, $"Unknown MCP resource '{uri}': no MCP server this key may use offers it", "mcp_resource_not_found");
        }

        return await InvokeAsync(access, owner, ResourceLabel, uri,
            (client, ct) => client.ReadResourceAsync(new ReadResourceRequestParams { Uri = uri }, ct), cancellationToken);
    }

    /// <summary>
    /// One call to <paramref name="settings"/>'s server after the caller's permission check (403 when refused), bounded by
    /// the call timeout, logged, counted and recorded as a spend-log row under <paramref name="label"/>.
    /// </summary>
    private async Task<McpOutcome<T>> InvokeAsync<T>(
        McpAccess access, McpServerSettings settings, string label, string name, Func<McpClient, CancellationToken, ValueTask<T>> call,
        CancellationToken cancellationToken)
        where T : Result
    {
        if (!access.Allows(settings))
        {
            Log.CallRefused(_logger, name, access.Caller, $"this key may not use MCP server {settings.Name}");
            Count(settings.Name, label, "refused", TimeSpan.Zero);
            return new(null, StatusCodes.Status403Forbidden,
                $"This key may not use MCP server '{settings.Prefix}' (see mcp_servers on /key/generate)", "mcp_server_not_allowed");
        }

        var started = _time.GetTimestamp();
        var upstream = _upstreams.FirstOrDefault(u => u.Settings == settings);
        var connection = upstream is null
            ? null
            : await upstream.ConnectionAsync(TimeSpan.FromSeconds(_options.ConnectWaitSeconds), onlyFirstStart: false, cancellationToken);
        if (connection is null)
        {
            return Finish(access, settings, label, started, new McpOutcome<T>(null, StatusCodes.Status503ServiceUnavailable,
                $"MCP server '{settings.Prefix}' is not available (starting or restarting); try again", "mcp_server_unavailable"));
        }

        McpOutcome<T> outcome;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.CallTimeoutSeconds));
            outcome = McpOutcome.Ok(await call(connection.Client, timeout.Token));
        }
        catch (McpProtocolException ex)
        {
            outcome = new(null, StatusCodes.Status400BadRequest, $"MCP server '{settings.Prefix}' refused the call: {ex.Message}", "mcp_call_refused");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            outcome = new(null, StatusCodes.Status504GatewayTimeout,
                $"MCP call '{name}' did not answer within {_options.CallTimeoutSeconds} s", "mcp_call_timeout");
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            outcome = new(null, StatusCodes.Status502BadGateway,
                $"MCP server '{settings.Prefix}' failed during the call ({ex.GetType().Name}); it is restarted", "mcp_server_failed");
        }

        return Finish(access, settings, label, started, outcome);
    }

    /// <summary>
    /// What <paramref name="list"/> gives for every server <paramref name="access"/> allows and that <paramref name="supports"/>
    /// the feature; a server still starting for the first time is waited for briefly, one that is down or fails to answer
    /// within the call timeout is left out.
    /// </summary>
    private async Task<IReadOnlyList<T>> CollectAsync<T>(
        McpAccess access, Func<McpClient, bool> supports, Func<McpServerSettings, McpClient, CancellationToken, Task<IEnumerable<T>>> list,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        var upstreams = _upstreams.Where(u => access.Allows(u.Settings)).ToList();
        var wait = TimeSpan.FromSeconds(_options.ConnectWaitSeconds);
        var lists = await Task.WhenAll(upstreams.Select(async upstream =>
        {
            if (await upstream.ConnectionAsync(wait, onlyFirstStart: true, cancellationToken) is not { } connection || !supports(connection.Client))
            {
                return [];
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(_options.CallTimeoutSeconds));
                return (await list(upstream.Settings, connection.Client, timeout.Token)).ToList();
            }
            catch (Exception ex) when (ex is McpException or OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
            {
                Log.ListFailed(_logger, upstream.Settings.Name, ex.GetType().Name + ": " + ex.Message);
                return [];
            }
        }));
        return [.. lists.SelectMany(l => l)];
    }

    private const string ResourceLabel = "resources/read";

    private static bool OffersResources(McpClient client) => client.ServerCapabilities.Resources is not null;

    private static string PromptLabel(string prompt) => "prompts/get:" + prompt;

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

    private static Prompt Prefixed(McpServerSettings server, Prompt prompt) => new()
    {
        Name = server.Prefix + McpSettings.Separator + prompt.Name,
        Title = prompt.Title,
        Description = prompt.Description,
        Arguments = prompt.Arguments,
        Icons = prompt.Icons,
        Meta = prompt.Meta,
    };

    private static Resource Prefixed(McpServerSettings server, Resource resource) => new()
    {
        Uri = resource.Uri,
        Name = server.Prefix + McpSettings.Separator + resource.Name,
        Title = resource.Title,
        Description = resource.Description,
        MimeType = resource.MimeType,
        Size = resource.Size,
        Annotations = resource.Annotations,
        Icons = resource.Icons,
        Meta = resource.Meta,
    };

    private static ResourceTemplate Prefixed(McpServerSettings server, ResourceTemplate template) => new()
    {
        UriTemplate = template.UriTemplate,
        Name = server.Prefix + McpSettings.Separator + template.Name,
        Title = template.Title,
        Description = template.Description,
        MimeType = template.MimeType,
        Annotations = template.Annotations,
        Icons = template.Icons,
        Meta = template.Meta,
    };

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

    private McpOutcome<T> Finish<T>(McpAccess access, McpServerSettings settings, string tool, long started, McpOutcome<T> outcome)
        where T : Result
    {
        var elapsed = _time.GetElapsedTime(started);
        var result = outcome.Result is CallToolResult { IsError: true } ? "tool_error" : outcome.Code;
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
    private void Publish<T>(McpAccess access, McpServerSettings settings, string tool, TimeSpan elapsed, McpOutcome<T> outcome)
        where T : Result
    {
        var succeeded = outcome.Result is not null and not CallToolResult { IsError: true };
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
