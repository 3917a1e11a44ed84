using Broker.Workers.Routing;

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
}
