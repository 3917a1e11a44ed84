using Broker.Config.Model;
using Broker.Workers.RateLimits;
using Broker.Workers.Routing;
using Broker.Workers.Routing.Strategies;

namespace Broker.Workers.Tests.Routing;

public sealed class DeploymentSelectorTests
{
    [Fact]
    public void Select_Weights_SplitTrafficInProportion()
    {
        var group = TestDeployments.Group("g",
            TestDeployments.Create(id: "a", weight: 3),
            TestDeployments.Create(id: "b", weight: 1));
        var selector = new DeploymentSelector(new Random(7));

        var picks = Enumerable.Range(0, 4000).Select(_ => selector.Select(group)!.Id).ToList();

        var shareA = picks.Count(p => p == "a") / 4000.0;
        Assert.InRange(shareA, 0.70, 0.80);
    }

    [Fact]
    public void Select_NoWeightsButRpm_WeightsByRpm()
    {
        var group = TestDeployments.Group("g",
            TestDeployments.Create(id: "a", rpm: 900),
            TestDeployments.Create(id: "b", rpm: 100));
        var selector = new DeploymentSelector(new Random(11));

        var shareA = Enumerable.Range(0, 4000).Count(_ => selector.Select(group)!.Id == "a") / 4000.0;

        Assert.InRange(shareA, 0.85, 0.95);
    }

    [Fact]
    public void Select_OrderTiers_UsesLowestOrderOnly()
    {
        var group = TestDeployments.Group("g",
            TestDeployments.Create(id: "backup", order: 2, weight: 100),
            TestDeployments.Create(id: "primary", order: 1, weight: 1));
        var selector = new DeploymentSelector(new Random(3));

        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal("primary", selector.Select(group)!.Id));
    }

    [Fact]
    public void Select_PinnedDeployment_ReturnsItOrNull()
    {
        var group = TestDeployments.Group("g", TestDeployments.Create(id: "a"), TestDeployments.Create(id: "b"));
        var selector = new DeploymentSelector();

        Assert.Equal("b", selector.Select(group, "b")!.Id);
        Assert.Null(selector.Select(group, "zzz"));
    }

    [Fact]
    public void Select_WeightsUnseeded_ShareWithinFiveStandardDeviations()
    {
        // 3:1 weights over 20,000 unseeded picks: sd of the share is ~0.003, so +-0.015 (5 sd) fails a correct
        // selector about once in two million runs, and passes a wrong one (uniform: 0.5, inverted: 0.25) never
        var group = TestDeployments.Group("g",
            TestDeployments.Create(id: "a", weight: 3),
            TestDeployments.Create(id: "b", weight: 1));
        var selector = new DeploymentSelector(new Random());
        const int n = 20_000;

        var shareA = Enumerable.Range(0, n).Count(_ => selector.Select(group)!.Id == "a") / (double)n;

        Assert.InRange(shareA, 0.75 - 0.015, 0.75 + 0.015);
    }

    [Fact]
    public void Select_LeastBusy_PicksFewestInFlight()
    {
        var loads = Loads((TestDeployments.Create(id: "a"), 5, 0, 0.0), (TestDeployments.Create(id: "b"), 1, 0, 0.0), (TestDeployments.Create(id: "c"), 3, 0, 0.0));
        var selector = new DeploymentSelector(new Random());

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal("b", selector.Select(loads, RoutingStrategyNames.LeastBusy)!.Id));
    }

    [Fact]
    public void Select_UsageBased_PicksLowestTokensThisMinute()
    {
        var loads = Loads((TestDeployments.Create(id: "a"), 0, 9000, 0.0), (TestDeployments.Create(id: "b"), 0, 120, 0.0), (TestDeployments.Create(id: "c"), 0, 4000, 0.0));
        var selector = new DeploymentSelector(new Random());

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal("b", selector.Select(loads, RoutingStrategyNames.UsageBased)!.Id));
    }

    [Fact]
    public void Select_LatencyBased_PicksLowestLatency()
    {
        var loads = Loads((TestDeployments.Create(id: "a"), 0, 0, 800.0), (TestDeployments.Create(id: "b"), 0, 0, 120.0));
        var selector = new DeploymentSelector(new Random());

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal("b", selector.Select(loads, RoutingStrategyNames.LatencyBased)!.Id));
    }

    [Fact]
    public void Select_CostBased_PicksCheapestKnownPrice()
    {
        var cheap = TestDeployments.Create(id: "cheap") with { ModelInfo = new Config.Model.ModelInfo { InputCostPerToken = 0.000001m, OutputCostPerToken = 0.000002m } };
        var dear = TestDeployments.Create(id: "dear") with { ModelInfo = new Config.Model.ModelInfo { InputCostPerToken = 0.00001m, OutputCostPerToken = 0.00003m } };
        var unknown = TestDeployments.Create(id: "unknown");
        var loads = Loads((dear, 0, 0, 0.0), (unknown, 0, 0, 0.0), (cheap, 0, 0, 0.0));
        var selector = new DeploymentSelector(new Random());

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal("cheap", selector.Select(loads, RoutingStrategyNames.CostBased)!.Id));
    }

    private static List<DeploymentLoad> Loads(params (Config.Model.ModelDeployment Deployment, int InFlight, long Tokens, double Latency)[] items) =>
        items.Select(i => new DeploymentLoad(i.Deployment, i.InFlight, 0, i.Tokens, i.Latency > 0 ? i.Latency : null, null)).ToList();
}

public sealed class RoutingStrategiesTests
{
    [Fact]
    public void BuiltIn_EveryConfigName_HasOneStrategy()
    {
        var names = RoutingStrategies.BuiltIn.Select(s => s.Name).ToList();

        Assert.Equal(names.Distinct().Order(), names.Order());
        Assert.Equal(RoutingStrategyNames.All.Order(), names.Order());
    }

    [Fact]
    public void Select_RegisteredStrategy_ReplacesBuiltInOfSameName()
    {
        var loads = new[] { "a", "b", "c" }
            .Select(id => DeploymentLoad.Idle(TestDeployments.Create(id: id))).ToList();
        var selector = new DeploymentSelector([new LastDeploymentStrategy()], new Random());

        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal("c", selector.Select(loads, RoutingStrategyNames.LeastBusy)!.Id));
    }

    [Fact]
    public void Select_UnknownStrategyName_FallsBackToSimpleShuffle()
    {
        var loads = new[] { "a", "b" }.Select(id => DeploymentLoad.Idle(TestDeployments.Create(id: id))).ToList();
        var selector = new DeploymentSelector(new Random(5));

        var picks = Enumerable.Range(0, 200).Select(_ => selector.Select(loads, "no-such-strategy")!.Id).ToHashSet();

        Assert.Equal(["a", "b"], picks.Order());
    }

    private sealed class LastDeploymentStrategy : IRoutingStrategy
    {
        public string Name => RoutingStrategyNames.LeastBusy;

        public ModelDeployment Pick(IReadOnlyList<DeploymentLoad> tier, Random random) => tier[^1].Deployment;
    }
}
