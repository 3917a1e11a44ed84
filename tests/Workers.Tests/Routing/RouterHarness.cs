using Broker.Config;
using Broker.Config.Loading;
using Broker.ServiceDefaults.Health;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.RateLimits;
using Broker.Workers.Routing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Workers.Tests.Routing;

/// <summary>A <see cref="DeploymentRouter"/> over a config.yaml text, with its routing state (local unless a Redis is given).</summary>
internal sealed class RouterHarness : IAsyncDisposable
{
    private RouterHarness(ProxyConfigProvider config, BrokerRedis redis, RoutingState state, DeploymentHealthBoard health, DeploymentRouter router)
    {
        Health = health;
        Config = config;
        Redis = redis;
        State = state;
        Router = router;
    }

    public ProxyConfigProvider Config { get; }

    public BrokerRedis Redis { get; }

    public RoutingState State { get; }

    /// <summary>The background health check results the router reads.</summary>
    public DeploymentHealthBoard Health { get; }

    public DeploymentRouter Router { get; }

    public Broker.Config.Model.ModelGroup Group(string name) => Config.Current.ModelGroups.Single(g => g.Name == name);

    public static async Task<RouterHarness> StartAsync(string yaml, TimeProvider time, RedisOptions? redisOptions = null)
    {
        var loaded = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);
        Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
        var config = new ProxyConfigProvider(loaded.Config!);
        var redis = new BrokerRedis(redisOptions ?? new RedisOptions(), time, NullLogger<BrokerRedis>.Instance);
        await redis.ConnectAsync();
        var state = new RoutingState(redis, time);
        var health = new DeploymentHealthBoard(redis, config, time, NullLogger<DeploymentHealthBoard>.Instance);
        var router = new DeploymentRouter(config, new DeploymentSelector(), state, health, time, NullLogger<DeploymentRouter>.Instance);
        return new RouterHarness(config, redis, state, health, router);
    }

    public ValueTask DisposeAsync() => Redis.DisposeAsync();
}
