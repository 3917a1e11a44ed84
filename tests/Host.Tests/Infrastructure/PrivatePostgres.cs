using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Broker.Host.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of the test's own (initdb + pg_ctl from /usr/lib/postgresql/*/bin, on a free loopback port, in
/// a temp directory), so a test can stop and start it without touching the shared server. Runs as the postgres user
/// when the tests run as root. Fails loudly when PostgreSQL's binaries are not installed.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _dir;
    private readonly bool _asPostgres;

    private PrivatePostgres(string bin, string dir, int port, bool asPostgres)
    {
        _bin = bin;
        _dir = dir;
        Port = port;
        _asPostgres = asPostgres;
    }

    public int Port { get; }

    /// <summary>general_settings.database_url for the server's <c>postgres</c> database (trust authentication on loopback).</summary>
    public string Url => $"postgresql://postgres@127.0.0.1:{Port}/postgres";

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=5";

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderDescending(StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL's initdb/pg_ctl are not installed under /usr/lib/postgresql/*/bin (run scripts/services.sh)");
        }

        var asPostgres = Environment.UserName == "root";
        var dir = Path.Combine(Path.GetTempPath(), $"broker-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        if (asPostgres)
        {
            await RunAsync("chown", $"postgres {dir}");
        }

        var port = FreePort();
        var server = new PrivatePostgres(bin, dir, port, asPostgres);
        await server.RunPgAsync("initdb", $"-D {dir}/data -U postgres --auth=trust -E UTF8 --no-sync");
        await server.StartServerAsync();
        return server;
    }

    public async Task StartServerAsync()
    {
        await RunPgAsync("pg_ctl", $"-D {_dir}/data -l {_dir}/log -w -t 60 -o \"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off\" start");
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString);
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Stops the server at once (open connections are cut), like a database outage.</summary>
    public Task StopServerAsync() => RunPgAsync("pg_ctl", $"-D {_dir}/data -w -t 60 -m fast stop");

    public async Task<T?> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunPgAsync("pg_ctl", $"-D {_dir}/data -w -t 30 -m immediate stop");
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

    private Task RunPgAsync(string tool, string arguments) =>
        _asPostgres
            ? RunAsync("runuser", $"-u postgres -- {Path.Combine(_bin, tool)} {arguments}")
            : RunAsync(Path.Combine(_bin, tool), arguments);

    private static async Task RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        }) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited with {process.ExitCode}: {await stdout}{await stderr}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
