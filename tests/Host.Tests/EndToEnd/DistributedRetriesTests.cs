using System.Net;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Broker.Workers.Retries;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Retries and fallbacks over the real RabbitMQ, with the saga state in the real Redis.</summary>
[Trait("Category", "Integration")]
public sealed class DistributedRetriesTests(RabbitMqFixture rabbit) : RetriesTestsBase, IClassFixture<RabbitMqFixture>
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

    [Fact]
    public async Task CompleteChat_FallbackAttemptLost_StepTimeoutFailsOverBeforeTheDeadline()
    {
        var primary = await Fake();
        var lost = await Fake();
        var last = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        // no worker serves "lost" at first: its attempt waits in a queue nobody reads, as if its message were lost
        await using var broker = await StartAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("lost", "l1", lost, ", timeout: 1") + Deployment("last", "z1", last),
            """
              num_retries: 0
              fallbacks: [{primary: [lost, last]}]
            """), [(BrokerRoles.Workers, ["primary", "last"]), (BrokerRoles.Ingress, [])]);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var response = await broker.Http.SendAsync(Chat("primary"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("last", Header(response, "x-litellm-model-group"));
        Assert.Equal("2", Header(response, "x-litellm-attempted-fallbacks"));
        // the lost attempt's step (1 s call + grace) timed out; the request's own timeout is 30 s
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"answered after {watch.Elapsed}");

        // a worker for "lost" comes up: the abandoned attempt is dropped, not run (no second answer, no second charge)
        await broker.StartHostAsync(BrokerRoles.Workers);
        await WaitUntil(() => Stores(broker).Sum(s => s.AttemptsRefused) >= 1, TimeSpan.FromSeconds(30));
        Assert.Empty(lost.Requests);
        Assert.Single(last.Requests);
    }

    [Fact]
    public async Task CompleteChat_RedisDownWhenAttemptFails_AnsweredAtOnceSayingNoFallbackWasTried()
    {
        var primary = await Fake();
        var backup = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        var redisUrl = RoutingDistributedTests.RequireRedis();
        var hostPort = redisUrl.Contains("://", StringComparison.Ordinal) ? new Uri(redisUrl).Authority.Split('@')[^1] : redisUrl.Split(',')[0];
        var colon = hostPort.LastIndexOf(':');
        await using var proxy = TcpProxy.Start(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        _virtualHosts.Add(vhost);
        await using var broker = await BrokerRunner.StartAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            """), null, url, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])],
            new Dictionary<string, string?> { ["REDIS_URL"] = $"127.0.0.1:{proxy.Port}", ["Bus:ConsumerStopTimeoutSeconds"] = "1" });
        proxy.Cut();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var response = await broker.Http.SendAsync(Chat("primary"));
        var body = await response.Content.ReadAsStringAsync();

        // the saga could not keep this request where every worker sees it: the failure is answered now, saying so,
        // rather than handed to a saga that dead-letters it while the client waits for its 30 s timeout
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("no retry or fallback was tried", body, StringComparison.Ordinal);
        Assert.Contains("Redis", body, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"answered after {watch.Elapsed}");
        Assert.Empty(backup.Requests);
        Assert.Equal(0, MessagesIn(url, ChatCompletionRetryStateMachine.QueueName + "_error"));
        Assert.All(Stores(broker), s => Assert.Equal(0, s.LocalCount));
    }

    /// <summary>Messages waiting in a queue of the test's virtual host (0 while the queue does not exist).</summary>
    private static long MessagesIn(Uri virtualHost, string queue)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = virtualHost };
        try
        {
            using var connection = factory.CreateConnectionAsync().GetAwaiter().GetResult();
            using var channel = connection.CreateChannelAsync().GetAwaiter().GetResult();
            return channel.QueueDeclarePassiveAsync(queue).GetAwaiter().GetResult().MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    private async Task<BrokerRunner> StartAsync(string yaml, IReadOnlyList<(BrokerRoles Roles, string[] Groups)> processes)
    {
        var redisUrl = RoutingDistributedTests.RequireRedis();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        _virtualHosts.Add(vhost);
        return await BrokerRunner.StartAsync(yaml, null, url, processes,
            new Dictionary<string, string?> { ["REDIS_URL"] = redisUrl, ["Bus:ConsumerStopTimeoutSeconds"] = "1" });
    }

    private static Task WaitUntil(Func<bool> condition) => WaitUntil(condition, TimeSpan.FromSeconds(10));

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < timeout, "timed out waiting");
            await Task.Delay(50);
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
