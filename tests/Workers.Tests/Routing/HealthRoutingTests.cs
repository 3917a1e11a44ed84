using Broker.ServiceDefaults.Health;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Workers.Tests.Routing;

/// <summary>Background health check results as routing uses them: an unhealthy deployment is skipped like a cooled-down one.</summary>
public sealed class HealthRoutingTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 12, 0, 10, TimeSpan.Zero);

    private const string Yaml = """
        model_list:
          - model_name: g
            litellm_params: {model: openai/a, mock_response: hi}
            model_info: {id: a}
          - model_name: g
            litellm_params: {model: openai/b, mock_response: hi}
            model_info: {id: b}
        general_settings: {background_health_checks: true, health_check_interval: 60}
        """;

    [Fact]
    public async Task Acquire_OneDeploymentUnhealthy_RoutesOnlyToTheHealthyOne()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(Yaml, time);
        await h.Health.ReportAsync(new DeploymentHealth("g", "a", "openai/a", null, false, "500 boom", time.GetUtcNow()), default);
        await h.Health.ReportAsync(new DeploymentHealth("g", "b", "openai/b", null, true, null, time.GetUtcNow()), default);

        for (var i = 0; i < 30; i++)
        {
            var lease = (await h.Router.AcquireAsync(h.Group("g"), null, Guid.NewGuid(), Start.AddMinutes(1), default)).Lease!;
            Assert.Equal("b", lease.Deployment.Id);
            await h.Router.ReleaseAsync(lease, null, 10, null);
        }
    }

    [Fact]
    public async Task Acquire_AllDeploymentsUnhealthy_StillTriesThem()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(Yaml, time);
        await h.Health.ReportAsync(new DeploymentHealth("g", "a", "openai/a", null, false, "500 boom", time.GetUtcNow()), default);
        await h.Health.ReportAsync(new DeploymentHealth("g", "b", "openai/b", null, false, "500 boom", time.GetUtcNow()), default);

        var seen = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            var lease = (await h.Router.AcquireAsync(h.Group("g"), null, Guid.NewGuid(), Start.AddMinutes(1), default)).Lease!;
            seen.Add(lease.Deployment.Id);
            await h.Router.ReleaseAsync(lease, null, 10, null);
        }

        Assert.Equal(["a", "b"], seen.Order());
    }

    [Fact]
    public async Task Acquire_UnhealthyResultOlderThanThreeIntervals_DeploymentUsedAgain()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(Yaml, time);
        await h.Health.ReportAsync(new DeploymentHealth("g", "a", "openai/a", null, false, "500 boom", time.GetUtcNow()), default);
        Assert.True(h.Health.IsUnhealthy("g", "a"));

        time.Advance(TimeSpan.FromSeconds(181));

        Assert.False(h.Health.IsUnhealthy("g", "a"));
        var seen = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            var lease = (await h.Router.AcquireAsync(h.Group("g"), null, Guid.NewGuid(), Start.AddMinutes(10), default)).Lease!;
            seen.Add(lease.Deployment.Id);
            await h.Router.ReleaseAsync(lease, null, 10, null);
        }

        Assert.Contains("a", seen);
    }

    [Fact]
    public async Task Report_ManyChecksFinishingAtOnce_NoResultLost()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(Yaml, time);

        await Parallel.ForAsync(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
            await h.Health.ReportAsync(new DeploymentHealth("g", "d" + i, "openai/x", null, false, "down", time.GetUtcNow()), ct));

        Assert.All(Enumerable.Range(0, 2000), i => Assert.True(h.Health.IsUnhealthy("g", "d" + i)));
    }

    [Fact]
    public async Task IsUnhealthy_BackgroundChecksOff_AlwaysFalse()
    {
        var time = new FakeTimeProvider(Start);
        await using var h = await RouterHarness.StartAsync(Yaml.Replace("background_health_checks: true", "background_health_checks: false", StringComparison.Ordinal), time);
        await h.Health.ReportAsync(new DeploymentHealth("g", "a", "openai/a", null, false, "500 boom", time.GetUtcNow()), default);

        Assert.False(h.Health.IsUnhealthy("g", "a"));
    }
}
