using Broker.Config.Model;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>router_settings → <see cref="RouterSettings"/> (before litellm_settings fills the gaps).</summary>
internal static class RouterSettingsReader
{
    public const string Section = "router_settings";

    public static (RouterSettings Settings, RoutingValues Shared) Read(NodeConverter convert, YamlNode? node)
    {
        var section = new MapReader(convert, node is null ? null : convert.Map(node, Section), Section);
        var strategyNode = section.Take("routing_strategy");
        var strategy = strategyNode is null ? null : convert.String(strategyNode, section.ChildPath("routing_strategy"));
        var canonical = strategy is null ? null : RoutingStrategyNames.Canonical(strategy);
        if (strategy is not null && canonical is null)
        {
            convert.Context.Warning(strategyNode, section.ChildPath("routing_strategy"),
                $"unknown routing strategy '{strategy}' (known: {string.Join(", ", RoutingStrategyNames.Accepted)}); {RoutingStrategyNames.SimpleShuffle} is used");
        }

        var settings = new RouterSettings
        {
            RoutingStrategy = canonical ?? RoutingStrategyNames.SimpleShuffle,
            LoadBalancing = ReadLoadBalancing(section),
            EnablePreCallChecks = section.Bool("enable_pre_call_checks") ?? false,
            EnableTagFiltering = section.Bool("enable_tag_filtering") ?? false,
            TagFilteringMatchAny = section.Bool("tag_filtering_match_any") ?? true,
            RetryPolicy = ReadRetryPolicy(section),
            AllowedFailsPolicy = ReadAllowedFailsPolicy(section),
            DisableCooldowns = section.Bool("disable_cooldowns") ?? false,
            StreamTimeout = section.Duration("stream_timeout"),
            RedisHost = section.String("redis_host"),
            RedisPort = section.Int("redis_port"),
            RedisPassword = section.Secret("redis_password"),
        };
        var shared = RoutingKeysReader.Read(section, "timeout");
        return (settings with { Extra = section.Finish() }, shared);
    }

    private static LoadBalancing? ReadLoadBalancing(MapReader section)
    {
        var map = section.Map("load_balancing");
        if (map is null)
        {
            return null;
        }

        var convert = section.Convert;
        var reader = new MapReader(convert, map, section.ChildPath("load_balancing"));
        var strategy = reader.String("strategy") ?? "weighted_round_robin";
        var weights = new List<LoadBalancingWeight>();
        if (reader.Sequence("weights") is { } list)
        {
            for (var i = 0; i < list.Children.Count; i++)
            {
                var path = $"{reader.ChildPath("weights")}[{i}]";
                var item = new MapReader(convert, convert.Map(list.Children[i], path), path);
                var name = item.String("model_name");
                var weight = item.Double("weight", 0);
                if (item.Node is not null && name is null && !item.Has("model_name"))
                {
                    convert.Context.Error(item.Node, item.ChildPath("model_name"), "required");
                }

                if (item.Node is not null && weight is null && !item.Has("weight"))
                {
                    convert.Context.Error(item.Node, item.ChildPath("weight"), "required");
                }

                item.Finish();
                if (name is not null && weight is not null)
                {
                    weights.Add(new LoadBalancingWeight(name, weight.Value));
                }
            }
        }

        reader.Finish();
        return new LoadBalancing(strategy, weights);
    }

    private static RetryPolicy? ReadRetryPolicy(MapReader section)
    {
        var map = section.Map("retry_policy");
        if (map is null)
        {
            return null;
        }

        var r = new MapReader(section.Convert, map, section.ChildPath("retry_policy"));
        var policy = new RetryPolicy
        {
            AuthenticationErrorRetries = r.Int("AuthenticationErrorRetries"),
            TimeoutErrorRetries = r.Int("TimeoutErrorRetries"),
            RateLimitErrorRetries = r.Int("RateLimitErrorRetries"),
            ContentPolicyViolationErrorRetries = r.Int("ContentPolicyViolationErrorRetries"),
            InternalServerErrorRetries = r.Int("InternalServerErrorRetries"),
            BadRequestErrorRetries = r.Int("BadRequestErrorRetries"),
        };
        r.Finish();
        return policy;
    }

    private static AllowedFailsPolicy? ReadAllowedFailsPolicy(MapReader section)
    {
        var map = section.Map("allowed_fails_policy");
        if (map is null)
        {
            return null;
        }

        var r = new MapReader(section.Convert, map, section.ChildPath("allowed_fails_policy"));
        var policy = new AllowedFailsPolicy
        {
            AuthenticationErrorAllowedFails = r.Int("AuthenticationErrorAllowedFails"),
            TimeoutErrorAllowedFails = r.Int("TimeoutErrorAllowedFails"),
            RateLimitErrorAllowedFails = r.Int("RateLimitErrorAllowedFails"),
            ContentPolicyViolationErrorAllowedFails = r.Int("ContentPolicyViolationErrorAllowedFails"),
            InternalServerErrorAllowedFails = r.Int("InternalServerErrorAllowedFails"),
            BadRequestErrorAllowedFails = r.Int("BadRequestErrorAllowedFails"),
        };
        r.Finish();
        return policy;
    }
}
