using System.Net;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Retries and fallbacks over the real RabbitMQ, with the saga state in the real Redis.</summary>
[Collection(RabbitMqCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DistributedRetriesTests(RabbitMqFixture rabbit) : RetriesTestsBase
{
    private readonly List<string> _virtualHosts = [];

    protected override Task<BrokerRunner> StartBrokerAsync(string yaml) =>
        StartAsync(yaml, [(BrokerRoles.Workers, []), (BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])]);

    protected override Task<BrokerRunner> StartOneWorkerAsync(string yaml) =>
        StartAsync(yaml, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])]);

    [Fact]
    public async Task CompleteChat_WorkerStoppedWhileProviderHoldsRequest_AnotherWorkerAnswersOnce()
    {
        var upstream = await Fake();
        upstream.Delay = TimeSpan.FromSeconds(30);
        upstream.OnlyFirstRequests = 1;
        await using var broker = await StartAsync(Config(Deployment("held", "h1", upstream)),
            [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])]);
        var first = broker.Hosts[0];

        var pending = broker.Http.SendAsync(Chat("held"));
        await WaitUntil(() => upstream.Requests.Count == 1);
        await broker.StartHostAsync(BrokerRoles.Workers);
        await broker.StopHostAsync(first);

        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("h1", Header(response, "x-litellm-model-id"));
        // the stopped worker's call was abandoned, the other worker made the one that answered
        Assert.Equal(2, upstream.Requests.Count);
        Assert.Equal(1, upstream.Cancelled);
    }

    private async Task<BrokerRunner> StartAsync(string yaml, IReadOnlyList<(BrokerRoles Roles, string[] Groups)> processes)
    {
        var redisUrl = RoutingDistributedTests.RequireRedis();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        _virtualHosts.Add(vhost);
        return await BrokerRunner.StartAsync(yaml, null, url, processes,
            new Dictionary<string, string?> { ["REDIS_URL"] = redisUrl, ["Bus:ConsumerStopTimeoutSeconds"] = "1" });
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting");
            await Task.Delay(20);
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var vhost in _virtualHosts)
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }
}
