using System.Diagnostics;
using System.Net.Sockets;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Providers;
using Broker.Workers.Tests.Routing;

namespace Broker.Workers.Tests.RateLimits;

/// <summary>Two routers with their own Redis connections stand for two worker processes sharing the local Redis.</summary>
[Trait("Category", "Integration")]
public sealed class RedisRoutingStateTests
{
    private const string Yaml = """
        model_list:
          - model_name: g
            litellm_params: {model: openai/a, mock_response: hi, rpm: 3}
            model_info: {id: a}
          - model_name: g
            litellm_params: {model: openai/b, mock_response: hi, rpm: 2}
            model_info: {id: b}
        router_settings: {allowed_fails: 1, cooldown_time: 20}
        general_settings: {disable_retry_on_max_parallel_request_limit_error: true}
        """;

    /// <summary>REDIS_URL, reachable; otherwise the test fails and says how to start Redis.</summary>
    internal static RedisOptions LocalRedis()
    {
        var url = Environment.GetEnvironmentVariable("REDIS_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            Assert.Fail("REDIS_URL is not set: run ./test.sh, or `eval \"$(scripts/services.sh)\"` before `dotnet test` (it starts Redis on 127.0.0.1:6379).");
        }

        var options = RedisOptions.From(null, null, null, url, "broker-test-" + Guid.NewGuid().ToString("N"));
        var endpoint = options.Configuration!.Split(',')[0];
        var colon = endpoint.LastIndexOf(':');
        try
        {
            using var client = new TcpClient();
            client.Connect(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (SocketException ex)
        {
            Assert.Fail($"Redis at {endpoint} (REDIS_URL) does not answer ({ex.Message}): run scripts/services.sh to start it.");
        }

        return options with { CommandTimeout = TimeSpan.FromSeconds(2) };
    }

    [Fact]
    public async Task Acquire_RpmAcrossTwoProcesses_AdmitsTheSumOfLimitsOnce()
    {
        var redis = LocalRedis();
        await using var one = await RouterHarness.StartAsync(Yaml, TimeProvider.System, redis);
        await using var two = await RouterHarness.StartAsync(Yaml, TimeProvider.System, redis);
        Assert.NotNull(one.Redis.Available());
        await WaitForFreshMinute();

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? one : two).Router.AcquireAsync(one.Group("g"), null, Guid.NewGuid(), TimeProvider.System.GetUtcNow().AddSeconds(30), default)));

        Assert.Equal(5, results.Count(r => r.Lease is not null));
        Assert.Equal(3, results.Count(r => r.Lease?.Deployment.Id == "a"));
        Assert.Equal(15, results.Count(r => r.Error?.StatusCode == 429));
    }

    [Fact]
    public async Task Acquire_SingleDeploymentAcrossTwoProcesses_LimitsAndCooldownHeldInOneStep()
    {
        const string single = """
            model_list:
              - model_name: solo
                litellm_params: {model: openai/a, mock_response: hi, rpm: 4, max_parallel_requests: 3}
                model_info: {id: a}
            router_settings: {cooldown_time: 20}
            general_settings: {disable_retry_on_max_parallel_request_limit_error: true}
            """;
        var redis = LocalRedis();
        await using var one = await RouterHarness.StartAsync(single, TimeProvider.System, redis);
        await using var two = await RouterHarness.StartAsync(single, TimeProvider.System, redis);
        Assert.NotNull(one.Redis.Available());
        await WaitForFreshMinute();
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(30);

        // held leases count in both processes: three in flight at most, then a fourth once one is released
        var held = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            (i % 2 == 0 ? one : two).Router.AcquireAsync(one.Group("solo"), null, Guid.NewGuid(), deadline, default)));
        Assert.Equal(3, held.Count(r => r.Lease is not null));
        Assert.All(held.Where(r => r.Lease is null), r => Assert.Equal(429, r.Error!.StatusCode));
        await one.Router.ReleaseAsync(held.First(r => r.Lease is not null).Lease!, null, 10, null);
        Assert.NotNull((await two.Router.AcquireAsync(one.Group("solo"), null, Guid.NewGuid(), deadline, default)).Lease);

        // rpm 4 reached this minute, whatever is in flight
        foreach (var lease in held.Where(r => r.Lease is not null).Skip(1))
        {
            await two.Router.ReleaseAsync(lease.Lease!, null, 10, null);
        }

        var fifth = await one.Router.AcquireAsync(one.Group("solo"), null, Guid.NewGuid(), deadline, default);
        Assert.Null(fifth.Lease);
        Assert.Contains("max_parallel_requests, rpm or tpm", fifth.Error!.Message, StringComparison.Ordinal);

        // a cooldown started by one process refuses in the other, with how long it has left
        await one.State.StartCooldownAsync("solo", "a", TimeSpan.FromSeconds(9), "test", default);
        var cooling = await two.Router.AcquireAsync(two.Group("solo"), null, Guid.NewGuid(), deadline, default);
        Assert.Equal(429, cooling.Error!.StatusCode);
        Assert.Equal(9, cooling.Error.RetryAfterSeconds);
        Assert.Contains("all 1 are cooling down", cooling.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_FailuresInOneProcess_CoolDownInTheOther()
    {
        var redis = LocalRedis();
        await using var one = await RouterHarness.StartAsync(Yaml.Replace("rpm: 3", "rpm: 1000").Replace("rpm: 2", "rpm: 1000"), TimeProvider.System, redis);
        await using var two = await RouterHarness.StartAsync(Yaml.Replace("rpm: 3", "rpm: 1000").Replace("rpm: 2", "rpm: 1000"), TimeProvider.System, redis);
        var a = one.Group("g").Deployments.Single(d => d.Id == "a");
        var error = new ProviderError(ProviderErrorClass.InternalServerError, 503, "down");
        // allowed_fails counts per minute: both failures must land in the same minute, not either side of its end
        var second = TimeProvider.System.GetUtcNow().Second;
        if (second >= 40)
        {
            await Task.Delay(TimeSpan.FromSeconds(61 - second));
        }

        Assert.Null(await one.Router.ReleaseAsync(new Broker.Workers.RateLimits.RoutingLease("g", a, "l1", false, true), null, null, error));
        Assert.NotNull(await two.Router.ReleaseAsync(new Broker.Workers.RateLimits.RoutingLease("g", a, "l2", false, true), null, null, error));

        foreach (var router in new[] { one, two })
        {
            for (var i = 0; i < 10; i++)
            {
                var lease = (await router.Router.AcquireAsync(router.Group("g"), null, Guid.NewGuid(), TimeProvider.System.GetUtcNow().AddSeconds(30), default)).Lease!;
                Assert.Equal("b", lease.Deployment.Id);
                await router.Router.ReleaseAsync(lease, null, 5, null);
            }
        }

        var view = new RedisCooldownView(one.Redis);
        var listed = Assert.Single(await view.ListAsync([("g", "a"), ("g", "b")], default));
        Assert.InRange(listed.RemainingSeconds, 15, 20);
    }

    [Fact]
    public async Task Acquire_RedisUnreachable_FallsBackToLocalStateQuickly()
    {
        var unreachable = RedisOptions.From(null, null, null, "127.0.0.1:1", "broker-test");
        await using var h = await RouterHarness.StartAsync(Yaml.Replace("rpm: 3", "rpm: 1000").Replace("rpm: 2", "rpm: 1000"), TimeProvider.System, unreachable);
        Assert.Null(h.Redis.Available());

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            var lease = (await h.Router.AcquireAsync(h.Group("g"), null, Guid.NewGuid(), TimeProvider.System.GetUtcNow().AddSeconds(30), default)).Lease!;
            await h.Router.ReleaseAsync(lease, null, 5, null);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"50 requests took {watch.Elapsed}");
    }

    /// <summary>Counts are per calendar minute: keep a test's requests inside one.</summary>
    internal static async Task WaitForFreshMinute()
    {
        var second = TimeProvider.System.GetUtcNow().Second;
        if (second >= 50)
        {
            await Task.Delay(TimeSpan.FromSeconds(61 - second));
        }
    }
}
