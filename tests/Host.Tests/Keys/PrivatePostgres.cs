using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Broker.Host.Tests.Keys;

/// <summary>
/// A PostgreSQL server of the test's own (initdb + pg_ctl into a temp folder, on a free port), so a test can stop it
/// without touching the shared one. Runs as the <c>postgres</c> user when the tests run as root. Fails loudly.
/// </summary>
internal sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _dir;
    private readonly string _bin;

    private PrivatePostgres(string dir, string bin, int port)
    {
        _dir = dir;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"postgresql://postgres@127.0.0.1:{Port}/postgres";

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal)
            .Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)");
        var dir = Path.Combine(Path.GetTempPath(), $"broker-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["postgres:postgres", dir]);
        }

        var port = FreePort();
        var pg = new PrivatePostgres(dir, bin, port);
        await pg.PgAsync("initdb", ["-D", dir + "/data", "-A", "trust", "-U", "postgres", "--no-sync"]);
        await pg.StartServerAsync();
        return pg;
    }

    public Task StartServerAsync() =>
        PgAsync("pg_ctl", ["-D", _dir + "/data", "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off", "-l", _dir + "/log", "-w", "start"]);

    public Task StopServerAsync() => PgAsync("pg_ctl", ["-D", _dir + "/data", "-m", "immediate", "-w", "stop"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopServerAsync();
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task PgAsync(string tool, string[] args)
    {
        var exe = Path.Combine(_bin, tool);
        return Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", exe, .. args])
            : RunAsync(exe, args);
    }

    private static async Task RunAsync(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp" };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await output} {await error}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
