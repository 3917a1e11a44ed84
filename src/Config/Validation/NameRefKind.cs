namespace Broker.Config.Validation;

/// <summary>What a model group name in the settings is used for.</summary>
internal enum NameRefKind
{
    /// <summary>A fallbacks / default_fallbacks target: a group, an alias, a wildcard match or a deployment id.</summary>
    FallbackTarget,

    /// <summary>A model_group_alias target: an existing (non-wildcard) model group.</summary>
    AliasTarget,
}
