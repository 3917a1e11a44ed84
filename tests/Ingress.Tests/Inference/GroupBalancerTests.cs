using Broker.Config.Loading;
using Broker.Ingress.Inference;

namespace Broker.Ingress.Tests.Inference;

public sealed class GroupBalancerTests
{
    private const string Yaml = """
        model_list:
          - model_name: gpt-4
            litellm_params: {model: openai/gpt-4, mock_response: a}
          - model_name: claude-3-opus
            litellm_params: {model: anthropic/claude-3-opus, mock_response: b}
          - model_name: other
            litellm_params: {model: openai/other, mock_response: c}
        router_settings:
          load_balancing:
            strategy: weighted_round_robin
            weights:
              - model_name: gpt-4
                weight: 0.7
              - model_name: claude-3-opus
                weight: 0.3
        """;

    [Fact]
    public void Resolve_WeightedRoundRobin_SplitsListedGroupsSevenToThreeInterleaved()
    {
        var config = ProxyConfigLoader.LoadText(Yaml, "config.yaml", _ => null).Config!;
        var balancer = new GroupBalancer();

        var picks = Enumerable.Range(0, 20).Select(_ => balancer.Resolve(config, "gpt-4")!.Name).ToList();

        Assert.Equal(14, picks.Count(p => p == "gpt-4"));
        Assert.Equal(6, picks.Count(p => p == "claude-3-opus"));
        // smooth: never three claude picks in a row, never more than three gpt-4 picks in a row
        Assert.DoesNotContain("claude-3-opus,claude-3-opus", string.Join(',', picks), StringComparison.Ordinal);
        Assert.DoesNotContain("gpt-4,gpt-4,gpt-4,gpt-4", string.Join(',', picks), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_GroupNotInWeights_IsLeftAlone()
    {
        var config = ProxyConfigLoader.LoadText(Yaml, "config.yaml", _ => null).Config!;
        var balancer = new GroupBalancer();

        Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal("other", balancer.Resolve(config, "other")!.Name));
        Assert.Null(balancer.Resolve(config, "missing"));
    }

    [Fact]
    public void Resolve_NoLoadBalancing_IsFindGroup()
    {
        var config = ProxyConfigLoader.LoadText(Yaml.Split("router_settings:")[0], "config.yaml", _ => null).Config!;

        Assert.Equal("gpt-4", new GroupBalancer().Resolve(config, "gpt-4")!.Name);
    }
}
