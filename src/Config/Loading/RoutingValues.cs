using Broker.Config.Model;
using Broker.Config.Validation;

namespace Broker.Config.Loading;

/// <summary>The keys router_settings and litellm_settings share (router_settings wins), as read from one section.</summary>
internal sealed class RoutingValues
{
    public int? NumRetries { get; set; }

    public TimeSpan? Timeout { get; set; }

    public int? AllowedFails { get; set; }

    public TimeSpan? CooldownTime { get; set; }

    public int? MaxFallbacks { get; set; }

    public Referenced<IReadOnlyList<FallbackRule>>? Fallbacks { get; set; }

    public Referenced<IReadOnlyList<FallbackRule>>? ContextWindowFallbacks { get; set; }

    public Referenced<IReadOnlyList<FallbackRule>>? ContentPolicyFallbacks { get; set; }

    public Referenced<IReadOnlyList<string>>? DefaultFallbacks { get; set; }

    public Referenced<IReadOnlyDictionary<string, string>>? ModelGroupAlias { get; set; }

    public IReadOnlyList<string> HiddenAliases { get; set; } = [];
}
