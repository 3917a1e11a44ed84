using System.Net;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using StackExchange.Redis;
using static Broker.Host.Tests.Caching.CacheCalls;

namespace Broker.Host.Tests.Caching;

/// <summary>
/// The Redis cache on a 3-master Cluster (keys on different slots) and behind Sentinel (a failover keeps the cache
/// working), both started by scripts/services.sh.
/// </summary>
[Collection(RedisTopologyCollection.Name)]
public sealed class RedisTopologyCacheTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> Patient = new() { ["Cache:TimeoutMilliseconds"] = "1000" };

    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartOpenAiAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_RedisCluster_EntriesOnSeveralSlotsAllHit()
    {
        var nodes = Require("REDIS_CLUSTER_NODES").Split(',');
        var startup = string.Join("\n", nodes.Select(n => $"      - {{host: \"{n.Split(':')[0]}\", port: {n.Split(':')[1]}}}"));
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, $$"""
              cache: true
              cache_params:
                type: redis
                namespace: broker-test-{{Guid.NewGuid():N}}
                redis_startup_nodes:
            {{startup}}
            """), settings: Patient);
        await using var cluster = await ConnectionMultiplexer.ConnectAsync(string.Join(",", nodes));
        var prompts = Enumerable.Range(0, 12).Select(i => $"cluster prompt {i} {Guid.NewGuid():N}").ToList();

        var keys = new List<string>();
        foreach (var prompt in prompts)
        {
            var miss = await ChatAsync(broker, Chat(prompt));
            Assert.Equal(HttpStatusCode.OK, miss.Status);
            keys.Add(miss.Key!);
        }

        foreach (var key in keys)
        {
            await WaitUntilAsync(() => cluster.GetDatabase().KeyExists(key), "an answer never reached the cluster");
        }

        var hits = new List<CacheAnswer>();
        foreach (var prompt in prompts)
        {
            hits.Add(await ChatAsync(broker, Chat(prompt)));
        }

        Assert.All(hits, h => Assert.True(h.Hit));
        var servers = keys.Select(k => cluster.GetServer(cluster.GetDatabase().IdentifyEndpoint(k)!).EndPoint.ToString()).Distinct().ToList();
        Assert.True(servers.Count >= 2, "all keys landed on one node: " + string.Join(", ", servers));
        Assert.Equal(prompts.Count, _upstream.Requests.Count);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_RedisSentinel_HitsBeforeAndAfterFailover()
    {
        var sentinels = Require("REDIS_SENTINEL_NODES").Split(',');
        var service = Require("REDIS_SENTINEL_SERVICE");
        var nodeList = string.Join("\n", sentinels.Select(n => $"      - [\"{n.Split(':')[0]}\", {n.Split(':')[1]}]"));
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(_upstream, $$"""
              cache: true
              cache_params:
                type: redis
                namespace: broker-test-{{Guid.NewGuid():N}}
                service_name: {{service}}
                sentinel_nodes:
            {{nodeList}}
            """), settings: Patient);
        await using var sentinel = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { sentinels[0] },
            CommandMap = CommandMap.Sentinel,
            AllowAdmin = true,
            SyncTimeout = 10_000,
        });
        var sentinelServer = sentinel.GetServer(sentinels[0]);

        var before = "sentinel prompt " + Guid.NewGuid().ToString("N");
        await ChatAsync(broker, Chat(before));
        await WaitUntilAsync(() => ChatAsync(broker, Chat(before)).GetAwaiter().GetResult().Hit, "no hit through Sentinel");

        var oldMaster = sentinelServer.SentinelGetMasterAddressByName(service)!.ToString();
        // right after an earlier failover the replica may still be syncing (NOGOODSLAVE / INPROGRESS): retry a while
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                sentinelServer.SentinelFailover(service);
                break;
            }
            catch (Exception e) when (e is RedisServerException or RedisTimeoutException or RedisConnectionException && attempt < 40)
            {
                await Task.Delay(250);
            }
        }

        // a sentinel busy with the failover may answer slowly or not at all for a moment: one slow reply is not a failure
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string? newMaster = null;
        while (DateTime.UtcNow < deadline && (newMaster is null || newMaster == oldMaster))
        {
            try
            {
                newMaster = (await sentinelServer.SentinelGetMasterAddressByNameAsync(service))?.ToString();
            }
            catch (Exception e) when (e is RedisTimeoutException or RedisConnectionException)
            {
                newMaster = null;
            }

            if (newMaster is null || newMaster == oldMaster)
            {
                await Task.Delay(100);
            }
        }

        Assert.True(newMaster is not null && newMaster != oldMaster, $"Sentinel did not fail over from {oldMaster} within 30 s");

        // writes go to the new master once the client has followed the switch; until then lookups are misses
        var after = "sentinel prompt " + Guid.NewGuid().ToString("N");
        var hitAfter = false;
        for (var i = 0; i < 60 && !hitAfter; i++)
        {
            var answer = await ChatAsync(broker, Chat(after));
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            hitAfter = answer.Hit;
            if (!hitAfter)
            {
                await Task.Delay(250);
            }
        }

        Assert.True(hitAfter, "the cache never served a hit after the failover");
    }

    private static string Require(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(value))
        {
            Assert.Fail($"{name} is not set: run ./test.sh, or `eval \"$(scripts/services.sh)\"` before `dotnet test` (it starts the Redis Cluster and Sentinel).");
        }

        return value;
    }
}

/// <summary>The Sentinel failover changes shared state: these tests never run beside each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RedisTopologyCollection
{
    public const string Name = "redis-topology";
}
