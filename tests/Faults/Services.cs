using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Broker.Faults;

/// <summary>Runs short commands (rabbitmqctl, pg_ctl, redis-cli) and finds free loopback ports.</summary>
public static class Shell
{
    public static async Task<string> RunAsync(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? env = null, bool check = true)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {output}");
        }

        return output;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<bool> PortOpenAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>A directory the given system user owns (the services run as their own users when we are root).</summary>
    public static async Task<string> OwnedDirectoryAsync(string path, string? user)
    {
        Directory.CreateDirectory(path);
        if (user is not null && Environment.UserName == "root")
        {
            await RunAsync("chown", ["-R", user, path]);
        }

        return path;
    }
}

/// <summary>
/// A long-running child process (a broker role, redis-server) whose output goes to a log file; <see cref="Kill"/> is
/// SIGKILL, as a crash or an OOM kill: no shutdown code runs.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Action<string>? _onLine;
    private readonly StringBuilder _tail = new();

    private ChildProcess(Process process, StreamWriter log, Action<string>? onLine)
    {
        _process = process;
        _log = log;
        _onLine = onLine;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (for error messages).</summary>
    public string Tail
    {
        get
        {
            lock (_tail)
            {
                return _tail.ToString();
            }
        }
    }

    public static ChildProcess Start(string file, IReadOnlyList<string> args, string logPath, IReadOnlyDictionary<string, string>? env = null, Action<string>? onLine = null)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(logPath)!,
        };
        start.Environment.Remove("LITELLM_MASTER_KEY");
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var child = new ChildProcess(process, log, onLine);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>SIGKILL to the process (and, with <paramref name="tree"/>, to every child it started).</summary>
    public async Task Kill(bool tree = true)
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: tree);
        }

        await _process.WaitForExitAsync();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _log.WriteLine(line);
            _tail.AppendLine(line);
            if (_tail.Length > 20_000)
            {
                _tail.Remove(0, _tail.Length - 10_000);
            }
        }

        _onLine?.Invoke(line);
    }

    public async ValueTask DisposeAsync()
    {
        await Kill();
        _process.Dispose();
        lock (_tail)
        {
            _log.Dispose();
        }
    }
}

/// <summary>
/// A RabbitMQ node of the suite's own (own node name, AMQP and distribution ports, data and log directories, no
/// plugins), started the way scripts/services.sh starts the shared one, so the suite may stop it freely.
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private readonly Dictionary<string, string> _env;
    private ChildProcess? _server;

    private PrivateRabbitMq(string node, int port, Dictionary<string, string> env)
    {
        Node = node;
        Port = port;
        _env = env;
    }

    public string Node { get; }

    public int Port { get; }

    public Uri Url => new($"amqp://guest:guest@127.0.0.1:{Port}/");

    public static async Task<PrivateRabbitMq> StartAsync(string root)
    {
        var dir = await Shell.OwnedDirectoryAsync(Path.Combine(root, "rabbitmq"), "rabbitmq");
        var plugins = Path.Combine(dir, "enabled_plugins");
        await File.WriteAllTextAsync(plugins, "[].\n");
        var port = Shell.FreePort();
        var node = $"broker-faults-{port}@localhost";
        var env = new Dictionary<string, string>
        {
            ["RABBITMQ_NODENAME"] = node,
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = port.ToString(),
            ["RABBITMQ_DIST_PORT"] = Shell.FreePort().ToString(),
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(dir, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(dir, "log"),
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = plugins,
            ["RABBITMQ_PID_FILE"] = Path.Combine(dir, "rabbitmq.pid"),
        };
        await Shell.OwnedDirectoryAsync(dir, "rabbitmq");
        var rabbit = new PrivateRabbitMq(node, port, env);
        // the Debian wrapper runs the node as the rabbitmq user (keeping this environment); rabbitmqctl does the same
        rabbit._server = ChildProcess.Start("rabbitmq-server", [], Path.Combine(root, "rabbitmq-server.log"), env);
        try
        {
            await Shell.WaitUntilAsync(() => Shell.PortOpenAsync(port), TimeSpan.FromSeconds(120), $"RabbitMQ node {node} on port {port}");
        }
        catch
        {
            await rabbit.DisposeAsync();
            throw;
        }

        return rabbit;
    }

    /// <summary>Stops the RabbitMQ application (listeners closed, connections cut); the node and its queues stay.</summary>
    public Task StopAppAsync() => Shell.RunAsync("rabbitmqctl", ["-n", Node, "stop_app"], _env);

    public async Task StartAppAsync()
    {
        await Shell.RunAsync("rabbitmqctl", ["-n", Node, "start_app"], _env);
        await Shell.WaitUntilAsync(() => Shell.PortOpenAsync(Port), TimeSpan.FromSeconds(60), "RabbitMQ listener after start_app");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Shell.RunAsync("rabbitmqctl", ["-n", Node, "stop"], _env);
        }
        catch (InvalidOperationException)
        {
            // not running
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>A PostgreSQL cluster of the suite's own (initdb + pg_ctl, as the postgres user when we are root), trust auth on loopback.</summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _dir;

    private PrivatePostgres(string bin, string dir, int port)
    {
        _bin = bin;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"postgresql://postgres@127.0.0.1:{Port}/postgres";

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=5";

    public static async Task<PrivatePostgres> StartAsync(string root)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderDescending(StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL's initdb/pg_ctl are not installed under /usr/lib/postgresql/*/bin (run scripts/services.sh)");
        }

        var dir = await Shell.OwnedDirectoryAsync(Path.Combine(root, "postgres"), "postgres");
        var pg = new PrivatePostgres(bin, dir, Shell.FreePort());
        await pg.RunAsync("initdb", ["-D", $"{dir}/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        await pg.StartServerAsync();
        return pg;
    }

    public async Task StartServerAsync()
    {
        await RunAsync("pg_ctl", ["-D", $"{_dir}/data", "-l", $"{_dir}/log", "-w", "-t", "60",
            "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"]);
        await Shell.WaitUntilAsync(async () =>
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString);
                await connection.OpenAsync();
                return true;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "PostgreSQL accepting connections");
    }

    /// <summary>Stops the server at once (open connections are cut), like a database outage.</summary>
    public Task StopServerAsync() => RunAsync("pg_ctl", ["-D", $"{_dir}/data", "-w", "-t", "60", "-m", "fast", "stop"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("pg_ctl", ["-D", $"{_dir}/data", "-w", "-t", "30", "-m", "immediate", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }
    }

    private Task<string> RunAsync(string tool, IReadOnlyList<string> args) =>
        Environment.UserName == "root"
            ? Shell.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args])
            : Shell.RunAsync(Path.Combine(_bin, tool), args);
}

/// <summary>A redis-server of the suite's own; a stop saves its data to its own directory and a start loads it again.</summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private readonly string _dir;
    private ChildProcess? _server;

    private PrivateRedis(string dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"127.0.0.1:{Port}";

    public static async Task<PrivateRedis> StartAsync(string root)
    {
        var dir = Path.Combine(root, "redis");
        Directory.CreateDirectory(dir);
        var redis = new PrivateRedis(dir, Shell.FreePort());
        await redis.StartServerAsync();
        return redis;
    }

    public async Task StartServerAsync()
    {
        _server = ChildProcess.Start("redis-server",
            ["--bind", "127.0.0.1", "--port", Port.ToString(), "--dir", _dir, "--save", "", "--appendonly", "no", "--daemonize", "no"],
            Path.Combine(_dir, "redis.log"));
        await Shell.WaitUntilAsync(async () => (await Shell.RunAsync("redis-cli", ["-p", Port.ToString(), "ping"], check: false)).Contains("PONG", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "redis-server answering PING");
    }

    /// <summary>SHUTDOWN SAVE: the server stops (connections cut) and keeps its data for the next start.</summary>
    public async Task StopServerAsync()
    {
        await Shell.RunAsync("redis-cli", ["-p", Port.ToString(), "shutdown", "save"], check: false);
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
