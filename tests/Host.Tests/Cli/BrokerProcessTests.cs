using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Tests.Cli;

/// <summary>The README's run command, as a user types it: the real <c>broker</c> process with the repo's config.yaml.</summary>
public sealed class BrokerProcessTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The real <c>broker</c> with the repo's config.yaml (or <paramref name="config"/>) on <paramref name="port"/>, its output collected.</summary>
    internal static (Process Process, StringBuilder Log, string Store) StartBroker(int port, Dictionary<string, string> environment, string config = "config.yaml",
        bool underNohup = false) =>
        StartBroker(["--config", config, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--host", "127.0.0.1"], environment, underNohup);

    /// <summary>
    /// The real <c>broker</c> with <paramref name="arguments"/> (run from the repository's root), its output collected;
    /// with <paramref name="underNohup"/> nohup execs it (same pid) with SIGHUP ignored, as an operator's <c>nohup broker … &amp;</c> does.
    /// </summary>
    internal static (Process Process, StringBuilder Log, string Store) StartBroker(IEnumerable<string> arguments, Dictionary<string, string> environment,
        bool underNohup = false)
    {
        string[] command = ["dotnet", Path.Combine(AppContext.BaseDirectory, "broker.dll"), .. arguments];
        var start = new ProcessStartInfo(underNohup ? "nohup" : command[0], underNohup ? command : command[1..])
        {
            WorkingDirectory = RepoRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("RABBITMQ_URL");
        start.Environment.Remove("LITELLM_MASTER_KEY");
        // the embedded state store goes to a file of this test's own, not ./broker.db in the repository
        var store = Path.Combine(Path.GetTempPath(), $"broker-process-{Guid.NewGuid():N}.db");
        start.Environment["Database__EmbeddedPath"] = store;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, log, store);
    }

    [Fact]
    public async Task Broker_ShippedConfig_AnswersCurlStyleRequest()
    {
        var port = FreePort();
        var (process, log, store) = StartBroker(port, []);
        using var _ = process;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    if ((await http.GetAsync("health/readiness")).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                Assert.False(process.HasExited, "broker exited early:\n" + log);
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "broker not ready within 60 s:\n" + log);
                await Task.Delay(200);
            }

            using var content = new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}""", Encoding.UTF8, "application/json");
            var response = await http.PostAsync("v1/chat/completions", content);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Hello from Broker! This answer went through the gpt-4o queue.", body["choices"]![0]!["message"]!["content"]!.GetValue<string>());
            Assert.Equal("model-group.gpt-4o", response.Headers.GetValues("x-broker-queue").Single());
            lock (log)
            {
                Assert.Contains("the gateway is OPEN", log.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(store + suffix);
            }
        }
    }

    [Fact]
    public async Task Broker_OutOfRangeHostSettings_RefusesToStartNamingEach()
    {
        var (process, log, store) = StartBroker(FreePort(), new()
        {
            ["Ingress__DrainSeconds"] = "-1",
            ["Idempotency__TtlSeconds"] = "0",
            ["Cache__LocalMaxEntries"] = "0",
        });
        using var _ = process;
        try
        {
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(exited.Token);
            process.WaitForExit();

            var text = log.ToString();
            Assert.Equal(1, process.ExitCode);
            // all three at once, each in its section, and no stack trace
            Assert.Contains("error: Ingress: DrainSeconds must be 0 or more", text, StringComparison.Ordinal);
            Assert.Contains("error: Idempotency: TtlSeconds must be more than 0", text, StringComparison.Ordinal);
            Assert.Contains("error: Cache: LocalMaxEntries must be 1 or more", text, StringComparison.Ordinal);
            Assert.Contains("error: 3 host setting(s) are invalid", text, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("is listening", text, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(store + suffix);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Broker_Sighup_RereadsEditedConfigAndKeepsServing(bool startedUnderNohup)
    {
        var config = Path.Combine(Path.GetTempPath(), $"broker-sighup-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, MockGroups("first"));
        var port = FreePort();
        // no file watcher and no periodic check: only the signal can make it re-read the file
        var (process, log, store) = StartBroker(port, new() { ["Config__WatchFile"] = "false", ["Config__ReloadCheckSeconds"] = "0" }, config, startedUnderNohup);
        using var _ = process;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            var ready = Stopwatch.StartNew();
            while (!await ModelsContainAsync(http, "first"))
            {
                Assert.False(process.HasExited, "broker exited early:\n" + log);
                Assert.True(ready.Elapsed < TimeSpan.FromSeconds(60), "broker not ready within 60 s:\n" + log);
                await Task.Delay(200);
            }

            await File.WriteAllTextAsync(config, MockGroups("first", "second"));
            await Task.Delay(500);
            Assert.False(await ModelsContainAsync(http, "second"), "the edit was read without a signal");
            using (var hangup = Process.Start("kill", ["-HUP", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await hangup.WaitForExitAsync();
                Assert.Equal(0, hangup.ExitCode);
            }

            var reloaded = Stopwatch.StartNew();
            while (!await ModelsContainAsync(http, "second"))
            {
                Assert.False(process.HasExited, "SIGHUP ended the broker:\n" + log);
                Assert.True(reloaded.Elapsed < TimeSpan.FromSeconds(15), "second group not served 15 s after SIGHUP:\n" + log);
                await Task.Delay(200);
            }

            using var content = new StringContent("""{"model":"second","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
            var answer = await http.PostAsync("v1/chat/completions", content);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.False(process.HasExited);
            if (startedUnderNohup)
            {
                lock (log)
                {
                    Assert.Contains("SIGHUP was ignored when this process started", log.ToString(), StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            foreach (var path in new[] { config, store, store + "-wal", store + "-shm" })
            {
                File.Delete(path);
            }
        }
    }

    private static string MockGroups(params string[] names) =>
        "model_list:\n" + string.Concat(names.Select(n =>
            $"  - model_name: {n}\n    litellm_params: {{ model: openai/{n}, mock_response: \"Hello from {n}.\" }}\n"));

    private static async Task<bool> ModelsContainAsync(HttpClient http, string model)
    {
        try
        {
            var models = JsonNode.Parse(await http.GetStringAsync("v1/models"))!["data"]!.AsArray();
            return models.Any(m => m!["id"]!.GetValue<string>() == model);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
