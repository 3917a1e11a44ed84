using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Broker.Host.Composition;
using Broker.Host.Tests.Bus;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Xunit.Abstractions;

namespace Broker.Host.Tests.Faults;

/// <summary>
/// Broker distributed over the private 3-node RabbitMQ cluster of <c>scripts/services.sh rabbit-cluster</c>, with quorum
/// queues: one node is killed (kill -9 of its Erlang VM) under steady load, and requests keep being answered.
/// Part of the fault suite (<c>scripts/fault-tests.sh</c>), not of <c>./test.sh</c>: starting three RabbitMQ nodes takes
/// a minute or more on a busy two-core machine.
/// </summary>
[Collection(TimingCollection.Name)]
[Trait("Category", "Fault")]
public sealed class RabbitClusterFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ChatCompletions_ClusterNodeKilledUnderLoad_KeepBeingAnsweredNothingLost()
    {
        var nodes = Environment.GetEnvironmentVariable("RABBITMQ_CLUSTER_NODES");
        var clusterUrl = Environment.GetEnvironmentVariable("RABBITMQ_CLUSTER_URL");
        Assert.False(string.IsNullOrEmpty(nodes) || string.IsNullOrEmpty(clusterUrl),
            "RABBITMQ_CLUSTER_NODES/RABBITMQ_CLUSTER_URL are not set: run the fault suite with scripts/fault-tests.sh (it starts the cluster)");
        var vhost = "broker-fault-" + Guid.NewGuid().ToString("N")[..10];
        await ServicesAsync("rabbit-cluster-vhost", vhost);
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var url = new UriBuilder(clusterUrl!) { Path = "/" + vhost }.Uri;
        try
        {
            await using (var broker = await BrokerRunner.StartAsync(QueueTypeTests.Config(upstream), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["RABBITMQ_CLUSTER_NODES"] = nodes, ["Ingress:QueueSendTimeoutSeconds"] = "5" }))
            {
                Assert.Equal(HttpStatusCode.OK, await QueueTypeTests.ChatAsync(broker.Http));
                using var http = new HttpClient { BaseAddress = broker.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
                var results = new ConcurrentBag<(TimeSpan At, HttpStatusCode? Status)>();
                var clock = Stopwatch.StartNew();
                using var stop = new CancellationTokenSource();
                var load = Enumerable.Range(0, 6).Select(async _ =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var at = clock.Elapsed;
                        try
                        {
                            results.Add((at, await QueueTypeTests.ChatAsync(http)));
                        }
                        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                        {
                            results.Add((at, null));
                        }
                    }
                }).ToList();

                await Task.Delay(TimeSpan.FromSeconds(3));
                // the node every process connected to first (the queues' leaders are there too): kill -9 of its Erlang VM
                var pid = int.Parse(await File.ReadAllTextAsync(Path.Combine(Environment.GetEnvironmentVariable("RABBITMQ_CLUSTER_DIR")!, "c1", "pid")), System.Globalization.CultureInfo.InvariantCulture);
                var killed = clock.Elapsed;
                using (var beam = Process.GetProcessById(pid))
                {
                    beam.Kill();
                }

                await Task.Delay(TimeSpan.FromSeconds(20));
                await stop.CancelAsync();
                await Task.WhenAll(load);

                // a request in flight at the kill may fail fast (its answer could not come back), so may those sent while
                // the processes move to another node; every other one is answered
                var settled = results.Where(r => r.At < killed - TimeSpan.FromSeconds(2)).ToList();
                var after = results.Where(r => r.At >= killed).ToList();
                var failed = results.Where(r => r.Status != HttpStatusCode.OK).ToList();
                var lastFailure = failed.Count == 0 ? TimeSpan.Zero : failed.Max(r => r.At) - killed;
                output.WriteLine($"{results.Count - after.Count} requests sent before the kill, {after.Count} after; {failed.Count} not answered 200 " +
                    $"({string.Join(", ", failed.GroupBy(r => r.Status?.ToString() ?? "no answer").Select(g => $"{g.Count()} {g.Key}"))}), " +
                    $"the last of them sent {lastFailure.TotalSeconds:0.0} s after the kill; {after.Count(r => r.Status == HttpStatusCode.OK)} answered 200 after the kill");
                Assert.All(settled, r => Assert.Equal(HttpStatusCode.OK, r.Status));
                // every request got an answer (no hang until the client's timeout)
                Assert.DoesNotContain(results, r => r.Status is null);
                Assert.True(lastFailure < TimeSpan.FromSeconds(10), $"requests still failed {lastFailure.TotalSeconds:0.0} s after the kill");
                Assert.True(after.Count(r => r.Status == HttpStatusCode.OK) >= 6, "hardly any request was answered after the kill");
                // nothing lost: every command the Ingress handed over reached the provider at most once per answer
                Assert.True(upstream.Requests.Count >= results.Count(r => r.Status == HttpStatusCode.OK));
            }
        }
        finally
        {
            // back to three nodes for the next run
            await ServicesAsync("rabbit-node-start", "1");
            await ServicesAsync("rabbit-cluster-vhost-delete", vhost);
        }
    }

    /// <summary>Runs scripts/services.sh with a cluster command.</summary>
    private async Task ServicesAsync(params string[] args)
    {
        var script = Path.Combine(RepoRoot(), "scripts", "services.sh");
        var start = new ProcessStartInfo("bash", [script, .. args]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        output.WriteLine($"services.sh {string.Join(' ', args)}: {(await stderr).Trim()}");
        Assert.True(process.ExitCode == 0, $"scripts/services.sh {string.Join(' ', args)} failed: {await stderr}");
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
    }
}
