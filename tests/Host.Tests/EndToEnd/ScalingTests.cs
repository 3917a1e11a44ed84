using System.Diagnostics;
using System.Net;
using System.Text;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// The point of queue-depth autoscaling, shown on this machine: with a per-worker concurrency limit and a
/// provider of fixed latency, two worker processes drain a backlog about twice as fast as one, and a worker
/// stopped mid-backlog loses nothing.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class ScalingTests(RabbitMqFixture rabbit)
{
    private const int Backlog = 24;
    private const int PerWorker = 2;

    private static string Yaml(FakeUpstream upstream) => $"""
        model_list:
          - model_name: work
            litellm_params: {"{"}model: openai/work, api_base: "{upstream.BaseUrl}/v1", api_key: sk-k, max_parallel_requests: 100{"}"}
        router_settings:
          timeout: 60
        """;

    private static async Task<(TimeSpan Elapsed, HttpStatusCode[] Statuses)> DrainAsync(BrokerRunner broker, Func<Task>? midway = null)
    {
        var watch = Stopwatch.StartNew();
        var requests = Enumerable.Range(0, Backlog).Select(async i =>
        {
            using var content = new StringContent($$"""{"model":"work","messages":[{"role":"user","content":"job {{i}}"}]}""", Encoding.UTF8, "application/json");
            using var response = await broker.Http.PostAsync("v1/chat/completions", content);
            return response.StatusCode;
        }).ToList();
        if (midway is not null)
        {
            await Task.Delay(500);
            await midway();
        }

        var statuses = await Task.WhenAll(requests);
        return (watch.Elapsed, statuses);
    }

    [Fact]
    public async Task Drain_TwoWorkersInsteadOfOne_FinishesAboutTwiceAsFast()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(500);

        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        TimeSpan one, two;
        try
        {
            await using (var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])], concurrency: PerWorker))
            {
                var (elapsed, statuses) = await DrainAsync(broker);
                Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
                Assert.Equal(PerWorker, upstream.MaxInFlight);
                one = elapsed;
            }

            upstream.ResetStats();
            await using (var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])], concurrency: PerWorker))
            {
                var (elapsed, statuses) = await DrainAsync(broker);
                Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
                Assert.Equal(2 * PerWorker, upstream.MaxInFlight);
                two = elapsed;
            }
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }

        // ideal: 24 jobs x 500 ms / 2 at once = 6 s with one worker, 3 s with two; the in-flight counts above prove the
        // second worker takes its share, the ratio leaves room for a machine busy with other tests
        var speedup = one / two;
        Assert.True(speedup >= 1.4, $"one worker {one.TotalSeconds:0.00} s, two workers {two.TotalSeconds:0.00} s: speed-up {speedup:0.00}");
    }

    [Fact]
    public async Task Drain_WorkerStoppedMidBacklog_LosesNothing()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(250);
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])], concurrency: PerWorker);
            var firstWorker = broker.Hosts[0];

            var (_, statuses) = await DrainAsync(broker, () => broker.StopHostAsync(firstWorker));

            Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
            // every job reached the provider exactly once: none lost, none run twice
            var jobs = upstream.Requests.Select(r => r.Body["messages"]![0]!["content"]!.GetValue<string>()).ToList();
            Assert.Equal(Backlog, jobs.Count);
            Assert.Equal(Backlog, jobs.Distinct().Count());
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }
}
