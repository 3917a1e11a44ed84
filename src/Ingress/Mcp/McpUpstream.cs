using Broker.Config.Model;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Broker.Ingress.Mcp;

/// <summary>
/// One upstream MCP server, kept connected: a stdio server is started as a child process and started again (with a
/// doubling delay) when it exits; an HTTP/SSE server is connected to again when its session ends. Disposing stops it.
/// </summary>
internal sealed class McpUpstream : IAsyncDisposable
{
    private readonly McpServerSettings _settings;
    private readonly McpOptions _options;
    private readonly IHttpClientFactory _httpClients;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private TaskCompletionSource<Connection> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;

    public McpUpstream(McpServerSettings settings, McpOptions options, IHttpClientFactory httpClients, ILoggerFactory loggers, TimeProvider time)
    {
        _settings = settings;
        _options = options;
        _httpClients = httpClients;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Broker.Ingress.Mcp");
        _time = time;
    }

    public McpServerSettings Settings => _settings;

    /// <summary>The live session and the tools it listed when it started.</summary>
    internal sealed record Connection(McpClient Client, IReadOnlyList<Tool> Tools);

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>
    /// The live connection; waits up to <paramref name="wait"/> while the server (re)starts. With
    /// <paramref name="onlyFirstStart"/> a server whose first start is over is not waited for.
    /// </summary>
    public async Task<Connection?> ConnectionAsync(TimeSpan wait, bool onlyFirstStart, CancellationToken cancellationToken)
    {
        Task<Connection> connected;
        lock (_gate)
        {
            connected = _connected.Task;
        }

        if (connected.IsCompletedSuccessfully)
        {
            return connected.Result;
        }

        try
        {
            if (onlyFirstStart)
            {
                await Task.WhenAny(connected, _firstAttempt.Task).WaitAsync(wait, _time, cancellationToken);
                return connected.IsCompletedSuccessfully ? connected.Result : null;
            }

            return await connected.WaitAsync(wait, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            McpClient? client = null;
            string reason;
            var wasConnected = false;
            try
            {
                using (var connect = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    connect.CancelAfter(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
                    client = await McpClient.CreateAsync(CreateTransport(), new McpClientOptions
                    {
                        ClientInfo = new Implementation { Name = "broker-mcp-gateway", Version = "1.0" },
                    }, _loggers, connect.Token);
                    var tools = await client.ListToolsAsync(cancellationToken: connect.Token);
                    var connection = new Connection(client, tools.Select(t => t.ProtocolTool).ToList());
                    lock (_gate)
                    {
                        _connected.TrySetResult(connection);
                    }

                    wasConnected = true;
                    failures = 0;
                    Log.Connected(_logger, _settings.Name, _settings.Transport.ToString(), connection.Tools.Count);
                }

                _firstAttempt.TrySetResult();
                var details = await client.Completion.WaitAsync(stop);
                reason = details.Exception?.Message ?? "session ended";
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                reason = ex.GetType().Name + ": " + ex.Message;
            }
            finally
            {
                lock (_gate)
                {
                    if (_connected.Task.IsCompleted)
                    {
                        _connected = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }

                if (client is not null)
                {
                    await DisposeQuietlyAsync(client);
                }
            }

            _firstAttempt.TrySetResult();
            failures = wasConnected ? 0 : failures + 1;
            var delay = TimeSpan.FromSeconds(Math.Min(_options.MaxRestartDelaySeconds, _options.RestartDelaySeconds * Math.Pow(2, Math.Max(0, failures - 1))));
            if (wasConnected)
            {
                Log.Disconnected(_logger, _settings.Name, reason, delay.TotalMilliseconds);
            }
            else
            {
                Log.ConnectFailed(_logger, _settings.Name, reason, delay.TotalMilliseconds);
            }

            try
            {
                await Task.Delay(delay, _time, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private Dictionary<string, string?> ChildEnvironment()
    {
        var env = StdioClientTransportOptions.GetDefaultEnvironmentVariables();
        foreach (var name in (string[])["DOTNET_ROOT", "LD_LIBRARY_PATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "TMPDIR"])
        {
            if (Environment.GetEnvironmentVariable(name) is { } value && !env.ContainsKey(name))
            {
                env[name] = value;
            }
        }

        foreach (var (name, value) in _settings.Env)
        {
            env[name] = value;
        }

        return env;
    }

    private IClientTransport CreateTransport()
    {
        if (_settings.Transport == McpTransport.Stdio)
        {
            return new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = _settings.Name,
                Command = _settings.Command!,
                Arguments = [.. _settings.Args],
                // never Broker's own environment (master key, database and provider credentials): the SDK's safe set
                // (PATH, HOME, system folders) plus what the config gives this server
                InheritEnvironmentVariables = false,
                EnvironmentVariables = ChildEnvironment(),
                StandardErrorLines = line => Log.ServerOutput(_logger, _settings.Name, line),
            }, _loggers);
        }

        return new HttpClientTransport(new HttpClientTransportOptions
        {
            Name = _settings.Name,
            Endpoint = new Uri(_settings.Url!),
            TransportMode = _settings.Transport switch
            {
                McpTransport.Http => HttpTransportMode.StreamableHttp,
                McpTransport.Sse => HttpTransportMode.Sse,
                _ => HttpTransportMode.AutoDetect,
            },
        }, _httpClients.CreateClient(nameof(McpUpstream)), _loggers, ownsHttpClient: true);
    }

    private static async Task DisposeQuietlyAsync(McpClient client)
    {
        try
        {
            await client.DisposeAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // the session is already gone; nothing more to release
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
                // stopped
            }
        }

        _stop.Dispose();
    }
}
