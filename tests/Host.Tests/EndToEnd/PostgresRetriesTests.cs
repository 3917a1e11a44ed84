using System.Net;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Broker.Workers.Retries;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// Retries and fallbacks over the real RabbitMQ with the saga state in the real PostgreSQL (a database of the test's
/// own) and no Redis: every scenario of <see cref="RetriesTestsBase"/>, including the crash windows, plus what a
/// database changes.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PostgresRetriesTests(RabbitMqFixture rabbit) : RetriesTestsBase, IClassFixture<RabbitMqFixture>
{
    private readonly List<string> _virtualHosts = [];
    private readonly List<TestDatabase> _databases = [];
    private Uri? _rabbitMq;

    protected override Task<BrokerRunner> StartBrokerAsync(string yaml) =>
        StartAsync(yaml, [(BrokerRoles.Workers, []), (BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])], redisUrl: "");

    protected override Task<BrokerRunner> StartOneWorkerAsync(string yaml) =>
        StartAsync(yaml, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])], redisUrl: "");

    [Fact]
    public async Task CompleteChat_RedisDownWhenAttemptFails_FallbackStillAnsweredFromPostgresState()
    {
        var primary = await Fake();
        var backup = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        var redisUrl = RoutingDistributedTests.RequireRedis();
        var hostPort = redisUrl.Contains("://", StringComparison.Ordinal) ? new Uri(redisUrl).Authority.Split('@')[^1] : redisUrl.Split(',')[0];
        var colon = hostPort.LastIndexOf(':');
        await using var proxy = TcpProxy.Start(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        await using var broker = await StartAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            """), [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])], redisUrl: $"127.0.0.1:{proxy.Port}");
        Assert.All(Stores(broker), s => Assert.Equal(RetrySagaStoreKind.PostgreSql, s.Kind));
        proxy.Cut();

        using var response = await broker.Http.SendAsync(Chat("primary"));

        // Redis holds routing state only: its outage costs no retry or fallback
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup", Header(response, "x-litellm-model-group"));
        Assert.Single(backup.Requests);
        Assert.Equal(1, SagasCreated(broker));
        Assert.All(Stores(broker), s => Assert.Equal(0, s.LocalCount));
    }

    [Fact]
    public async Task CompleteChat_FirstAttemptLost_StepTimeoutFailsOverBeforeTheDeadline()
    {
        var lost = await Fake();
        var backup = await Fake();
        // no worker serves "lost" at first: the Ingress' first attempt waits in a queue nobody reads, as if it were lost
        await using var broker = await StartAsync(Config(
            Deployment("lost", "l1", lost, ", timeout: 1") + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{lost: [backup]}]
            """), [(BrokerRoles.Workers, ["backup"]), (BrokerRoles.Ingress, [])], redisUrl: "");

        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var response = await broker.Http.SendAsync(Chat("lost"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup", Header(response, "x-litellm-model-group"));
        Assert.Equal("1", Header(response, "x-litellm-attempted-fallbacks"));
        // the first attempt's step (1 s call + grace) timed out; the request's own timeout is 30 s
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"answered after {watch.Elapsed}");

        // a worker for "lost" comes up: the given-up first attempt is dropped, not run (no second answer, no charge)
        await broker.StartHostAsync(BrokerRoles.Workers);
        await WaitUntil(() => Stores(broker).Sum(s => s.AttemptsRefused) >= 1, TimeSpan.FromSeconds(30));
        Assert.Empty(lost.Requests);
        Assert.Single(backup.Requests);
    }

    [Fact]
    public async Task CompleteChat_PostgresDownWhenAttemptFails_AnsweredWithItsOwnErrorBeforeTheTimeout()
    {
        var (primary, backup) = (await Fake(), await Fake());
        await using var proxy = DatabaseProxy();
        await using var broker = await StartFailingPrimaryAsync(primary, backup, proxy, workerGroups: []);
        Assert.All(Stores(broker), s => Assert.Equal(RetrySagaStoreKind.PostgreSql, s.Kind));
        // PostgreSQL, where the saga keeps its state, goes away
        proxy.Cut();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var response = await broker.Http.SendAsync(Chat("primary"));
        var body = await response.Content.ReadAsStringAsync();

        // answered with the attempt's own error and why no fallback was tried, after the store's short retries (about
        // 8 s), not left waiting for the request's 30 s timeout
        Assert.True((int)response.StatusCode >= 500, $"{(int)response.StatusCode} {body}");
        Assert.Contains("primary exploded", body, StringComparison.Ordinal);
        Assert.Contains("no retry or fallback was tried: PostgreSQL", body, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(25), $"answered after {watch.Elapsed}");
        Assert.Empty(backup.Requests);
    }

    [Fact]
    public async Task CompleteChat_PostgresDownWhenFallbackTakesItsTicket_Answered503NotLeftToTheTimeout()
    {
        var (primary, backup) = (await Fake(), await Fake());
        await using var proxy = DatabaseProxy();
        // only the primary group has a worker at first: the fallback waits in its queue
        await using var broker = await StartFailingPrimaryAsync(primary, backup, proxy, workerGroups: ["primary"]);
        var database = _databases[^1];

        var answer = broker.Http.SendAsync(Chat("primary"));
        // the saga has stored the request's state and sent the fallback; then PostgreSQL goes away and a worker for the
        // backup group starts, so the fallback's ticket cannot be taken
        await WaitUntil(() => database.ScalarAsync<long>("select count(*) from broker_retry_sagas").GetAwaiter().GetResult() > 0, TimeSpan.FromSeconds(15));
        proxy.Cut();
        await broker.AddHostAsync(BrokerRoles.Workers, _rabbitMq!);
        using var response = await answer;
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("state_store_unavailable", body, StringComparison.Ordinal);
        // the 503 itself rules out the request's timeout (a 500 from the saga's step timeout, or a 504)
        Assert.Contains("PostgreSQL, where retries and fallbacks keep their state, is unreachable", body, StringComparison.Ordinal);
        Assert.Empty(backup.Requests);
    }

    [Fact]
    public async Task Start_DistributedWithNeitherDatabaseNorRedis_RefusedNamingWhatToSet()
    {
        var upstream = await Fake();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        _virtualHosts.Add(vhost);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => BrokerRunner.StartAsync(
            Config(Deployment("g", "g1", upstream)), null, url, [(BrokerRoles.Workers, [])],
            new Dictionary<string, string?> { ["REDIS_URL"] = "" }));

        Assert.Contains("database_url", refused.Message, StringComparison.Ordinal);
        Assert.Contains("REDIS_URL", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>A proxy to the test PostgreSQL server, to cut it.</summary>
    private static TcpProxy DatabaseProxy()
    {
        var server = new Uri(TestDatabase.ServerUrl);
        return TcpProxy.Start(server.Host, server.Port > 0 ? server.Port : 5432);
    }

    /// <summary>Group primary (always 500) falls back to backup; a worker for <paramref name="workerGroups"/> (all when empty) and an Ingress, the database behind <paramref name="proxy"/>.</summary>
    private Task<BrokerRunner> StartFailingPrimaryAsync(FakeUpstream primary, FakeUpstream backup, TcpProxy proxy, string[] workerGroups)
    {
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        return StartAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            """), [(BrokerRoles.Workers, workerGroups), (BrokerRoles.Ingress, [])], redisUrl: "", databasePort: proxy.Port);
    }

    private async Task<BrokerRunner> StartAsync(
        string yaml, IReadOnlyList<(BrokerRoles Roles, string[] Groups)> processes, string redisUrl, int? databasePort = null)
    {
        var database = await TestDatabase.CreateAsync();
        _databases.Add(database);
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        _virtualHosts.Add(vhost);
        _rabbitMq = url;
        // databasePort: reach the database through a proxy on that port (to cut it)
        var databaseUrl = databasePort is { } port ? new UriBuilder(database.Url) { Port = port }.Uri.ToString() : database.Url;
        var withDatabase = yaml.Replace("general_settings:\n", $"general_settings:\n  database_url: \"{databaseUrl}\"\n", StringComparison.Ordinal);
        return await BrokerRunner.StartAsync(withDatabase, null, url, processes,
            new Dictionary<string, string?> { ["REDIS_URL"] = redisUrl, ["Bus:ConsumerStopTimeoutSeconds"] = "1" });
    }

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

        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }
}
