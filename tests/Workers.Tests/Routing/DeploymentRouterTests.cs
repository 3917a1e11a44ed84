using Broker.Contracts.Inference;
using Broker.Workers.Providers;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Workers.Tests.Routing;

public sealed class DeploymentRouterTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 12, 0, 10, TimeSpan.Zero);

    private static string TwoDeployments(string routerSettings = "", string generalSettings = "", string extraA = "", string extraB = "") => $$"""
        model_list:
          - model_name: g
            litellm_params: {model: openai/a, mock_response: hi{{extraA}}}
            model_info: {id: a}
          - model_name: g
            litellm_params: {model: openai/b, mock_response: hi{{extraB}}}
            model_info: {id: b}
        router_settings: {routing_strategy: least-busy{{routerSettings}}}
        general_settings: {master_key: sk-x{{generalSettings}}}
        """;

    [Fact]
    public async Task Acquire_LeastBusyWithHeldRequests_PicksTheIdleDeployment()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(TwoDeployments(), time);
        var group = h.Group("g");
        var first = await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(1), default);

        // the first request is still held: every later pick goes to the other deployment
        for (var i = 0; i < 20; i++)
        {
            var next = await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(1), default);
            Assert.NotEqual(first.Lease!.Deployment.Id, next.Lease!.Deployment.Id);
            await h.Router.ReleaseAsync(next.Lease, null, 10, null);
        }
    }

    [Fact]
    public async Task Acquire_UsageBasedAfterRecordedTokens_PicksLeastUsedThisMinute()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(TwoDeployments().Replace("least-busy", "usage-based-routing-v2"), time);
        var group = h.Group("g");
        var first = (await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(1), default)).Lease!;
        await h.Router.ReleaseAsync(first, new TokenUsage { PromptTokens = 500, CompletionTokens = 500 }, 10, null);

        for (var i = 0; i < 10; i++)
        {
            var next = (await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(1), default)).Lease!;
            Assert.NotEqual(first.Deployment.Id, next.Deployment.Id);
            await h.Router.ReleaseAsync(next, new TokenUsage { PromptTokens = 1, CompletionTokens = 1 }, 10, null);
        }
    }

    [Fact]
    public async Task Acquire_RpmReachedWithFailFast_Returns429AndNextMinuteAdmitsAgain()
    {
        var time = new FakeTimeProvider(Start);
        var yaml = TwoDeployments(generalSettings: ", disable_retry_on_max_parallel_request_limit_error: true", extraA: ", rpm: 2", extraB: ", rpm: 1");
        await using var h = await RouterHarness.StartAsync(yaml, time);
        var group = h.Group("g");

        var admitted = 0;
        for (var i = 0; i < 3; i++)
        {
            var r = await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(5), default);
            await h.Router.ReleaseAsync(r.Lease!, null, 10, null);
            admitted++;
        }

        var refused = await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(5), default);
        Assert.Equal(3, admitted);
        Assert.Null(refused.Lease);
        Assert.Equal(429, refused.Error!.StatusCode);
        Assert.Equal("rate_limit_error", refused.Error.Type);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.NotNull((await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(5), default)).Lease);
    }

    [Fact]
    public async Task Acquire_MaxParallelReached_WaitsUntilASlotFrees()
    {
        var yaml = TwoDeployments(extraA: ", max_parallel_requests: 1", extraB: ", max_parallel_requests: 1");
        await using var h = await RouterHarness.StartAsync(yaml, TimeProvider.System);
        var group = h.Group("g");
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(10);
        var a = (await h.Router.AcquireAsync(group, null, Guid.NewGuid(), deadline, default)).Lease!;
        var b = (await h.Router.AcquireAsync(group, null, Guid.NewGuid(), deadline, default)).Lease!;

        var third = h.Router.AcquireAsync(group, null, Guid.NewGuid(), deadline, default);
        await Task.Delay(150);
        Assert.False(third.IsCompleted);

        await h.Router.ReleaseAsync(b, null, 10, null);
        var lease = (await third.WaitAsync(TimeSpan.FromSeconds(5))).Lease!;
        Assert.Equal(b.Deployment.Id, lease.Deployment.Id);
        Assert.NotEqual(a.Deployment.Id, lease.Deployment.Id);
    }

    [Fact]
    public async Task Acquire_GlobalMaxParallelReached_RefusesWithFailFast()
    {
        var yaml = TwoDeployments(generalSettings: ", global_max_parallel_requests: 1, disable_retry_on_max_parallel_request_limit_error: true");
        await using var h = await RouterHarness.StartAsync(yaml, new FakeTimeProvider(Start));
        var group = h.Group("g");
        var held = (await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(1), default)).Lease!;

        var refused = await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(1), default);
        Assert.Equal(429, refused.Error!.StatusCode);

        await h.Router.ReleaseAsync(held, null, 10, null);
        Assert.NotNull((await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(1), default)).Lease);
    }

    [Fact]
    public async Task Release_ServerErrorsPastAllowedFails_CoolsDownForCooldownTime()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(TwoDeployments(", allowed_fails: 1, cooldown_time: 30"), time);
        var group = h.Group("g");
        var error = new ProviderError(ProviderErrorClass.InternalServerError, 500, "boom");
        var a = group.Deployments.Single(d => d.Id == "a");

        var events = new List<Contracts.Routing.DeploymentCooledDown?>();
        for (var i = 0; i < 2; i++)
        {
            var lease = new Broker.Workers.RateLimits.RoutingLease("g", a, Guid.NewGuid().ToString("N"), false, true);
            events.Add(await h.Router.ReleaseAsync(lease, null, 10, error));
        }

        Assert.Null(events[0]);
        var cooled = Assert.IsType<Contracts.Routing.DeploymentCooledDown>(events[1]);
        Assert.Equal(("g", "a", ProviderErrorClass.InternalServerError, 30.0), (cooled.ModelGroup, cooled.DeploymentId, cooled.ErrorClass, cooled.CooldownSeconds));
        for (var i = 0; i < 20; i++)
        {
            var r = (await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(5), default)).Lease!;
            Assert.Equal("b", r.Deployment.Id);
            await h.Router.ReleaseAsync(r, null, 10, null);
        }

        var listed = Assert.Single(await h.State.ListCooldownsAsync([("g", "a"), ("g", "b")], default));
        Assert.Equal(30, listed.RemainingSeconds, 1);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Empty(await h.State.ListCooldownsAsync([("g", "a"), ("g", "b")], default));
    }

    [Fact]
    public async Task Acquire_AllDeploymentsCoolingDown_FailsFastWith429AndRetryAfter()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(TwoDeployments(", cooldown_time: 12"), time);
        var group = h.Group("g");
        await h.State.StartCooldownAsync("g", "a", TimeSpan.FromSeconds(12), "test", default);
        await h.State.StartCooldownAsync("g", "b", TimeSpan.FromSeconds(8), "test", default);

        var refused = await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(5), default);

        Assert.Equal(429, refused.Error!.StatusCode);
        Assert.Equal(8, refused.Error.RetryAfterSeconds);
        Assert.Contains("cooling down", refused.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acquire_SingleDeploymentCoolingDown_FailsFastWith429AndRetryAfter()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync("""
            model_list:
              - model_name: solo
                litellm_params: {model: openai/a, mock_response: hi}
                model_info: {id: a}
            """, time);
        await h.State.StartCooldownAsync("solo", "a", TimeSpan.FromSeconds(7), "test", default);

        var refused = await h.Router.AcquireAsync(h.Group("solo"), null, Guid.NewGuid(), Start.AddMinutes(5), default);

        Assert.Equal(429, refused.Error!.StatusCode);
        Assert.Equal(7, refused.Error.RetryAfterSeconds);
        time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull((await h.Router.AcquireAsync(h.Group("solo"), null, Guid.NewGuid(), Start.AddMinutes(5), default)).Lease);
    }

    [Fact]
    public async Task Release_SingleDeploymentGroupDefaultRules_NeverCoolsDown()
    {
        var yaml = """
            model_list:
              - model_name: solo
                litellm_params: {model: openai/a, mock_response: hi}
            """;
        await using var h = await RouterHarness.StartAsync(yaml, new FakeTimeProvider(Start));
        var group = h.Group("solo");
        for (var i = 0; i < 10; i++)
        {
            var lease = (await h.Router.AcquireAsync(group, null, Guid.NewGuid(), Start.AddMinutes(5), default)).Lease!;
            Assert.Null(await h.Router.ReleaseAsync(lease, null, null, new ProviderError(ProviderErrorClass.RateLimit, 429, "slow down")));
        }
    }

    [Fact]
    public async Task Release_BadRequestsWithoutPolicy_AreNotCounted()
    {
        await using var h = await RouterHarness.StartAsync(TwoDeployments(", allowed_fails: 0"), new FakeTimeProvider(Start));
        var a = h.Group("g").Deployments.Single(d => d.Id == "a");
        var lease = new Broker.Workers.RateLimits.RoutingLease("g", a, "x", false, true);

        Assert.Null(await h.Router.ReleaseAsync(lease, null, null, new ProviderError(ProviderErrorClass.BadRequest, 400, "bad")));
        Assert.NotNull(await h.Router.ReleaseAsync(lease with { LeaseId = "y" }, null, null, new ProviderError(ProviderErrorClass.RateLimit, 429, "slow")));
    }
}
