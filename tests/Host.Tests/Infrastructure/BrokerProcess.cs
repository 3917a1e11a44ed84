using System.Diagnostics;
using System.Text;

namespace Broker.Host.Tests.Infrastructure;

/// <summary>
/// The real <c>broker</c> executable as a separate process (e.g. <c>--role workers</c> on a test's RabbitMQ virtual
/// host), so a test can kill it with SIGKILL (<see cref="Kill"/>) as a crash or an OOM kill would: no shutdown code runs.
/// </summary>
public sealed class BrokerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private BrokerProcess(Process process) => _process = process;

    /// <summary>Everything the process wrote so far (stdout and stderr), for assertion messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>broker --config <paramref name="configPath"/> <paramref name="args"/></c> with RABBITMQ_URL and the given environment.</summary>
    public static BrokerProcess Start(string configPath, Uri rabbitMq, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "broker.dll"), "--config", configPath, .. args])
        {
            WorkingDirectory = Path.GetDirectoryName(configPath)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["RABBITMQ_URL"] = rabbitMq.ToString();
        start.Environment.Remove("LITELLM_MASTER_KEY");
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var broker = new BrokerProcess(process);
        process.OutputDataReceived += (_, e) => broker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => broker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return broker;
    }

    /// <summary>kill -9: the process ends at once, its RabbitMQ connection with it (unacknowledged messages go back to their queues).</summary>
    public async Task Kill()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    private void Append(string? line)
    {
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await Kill();
        }

        _process.Dispose();
    }
}
