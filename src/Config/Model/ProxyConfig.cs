namespace Broker.Config.Model;

/// <summary>The whole config.yaml, loaded, resolved and validated. Immutable snapshot.</summary>
public sealed record ProxyConfig
{
    /// <summary>Path of the file this was loaded from.</summary>
    public required string SourcePath { get; init; }

    public required IReadOnlyList<ModelDeployment> ModelList { get; init; }

    /// <summary>Deployments grouped by model_name, in first-appearance order.</summary>
    public required IReadOnlyList<ModelGroup> ModelGroups { get; init; }

    /// <summary>Router settings, with litellm_settings values filled in where router_settings is silent.</summary>
    public required RouterSettings RouterSettings { get; init; }

    public required LitellmSettings LitellmSettings { get; init; }

    public required GeneralSettings GeneralSettings { get; init; }

    public required IReadOnlyDictionary<string, string> EnvironmentVariables { get; init; }

    /// <summary>Every guardrail: litellm_settings.guardrails followed by the top-level guardrails list.</summary>
    public IReadOnlyList<GuardrailDefinition> Guardrails { get; init; } = [];

    /// <summary>callback_settings: per-callback option maps (values are YAML scalars, lists or maps).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> CallbackSettings { get; init; }

    /// <summary>The MCP gateway's upstream servers (litellm_settings.mcp_servers + mcp_aliases, top-level mcp_servers).</summary>
    public McpSettings Mcp { get; init; } = McpSettings.Empty;

    /// <summary>
    /// Groups a reload or a model deletion took away while their queues may still hold commands: never resolved for a
    /// new request (<see cref="FindGroup"/> does not see them), but a worker finishes what was queued for them with
    /// these deployments. Set by <see cref="ProxyConfigProvider"/>.
    /// </summary>
    public IReadOnlyList<ModelGroup> DrainingGroups { get; init; } = [];

    /// <summary>The group named <paramref name="name"/> in force, else a draining one (for commands already queued), else null.</summary>
    public ModelGroup? GroupForQueuedCommand(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ModelGroups.FirstOrDefault(g => g.Name == name) ?? DrainingGroups.FirstOrDefault(g => g.Name == name);
    }

    /// <summary>
    /// Resolves a client's model name to its group: exact model_name, then model_group_alias, then wildcard groups
    /// (<c>*</c>, <c>anthropic/*</c>; the longest matching prefix wins). Null when nothing matches.
    /// </summary>
    public ModelGroup? FindGroup(string requestedModel)
    {
        ArgumentNullException.ThrowIfNull(requestedModel);
        foreach (var group in ModelGroups)
        {
            if (!group.IsWildcard && string.Equals(group.Name, requestedModel, StringComparison.Ordinal))
            {
                return group;
            }
        }

        if (RouterSettings.ModelGroupAlias.TryGetValue(requestedModel, out var target) &&
            !string.Equals(target, requestedModel, StringComparison.Ordinal))
        {
            foreach (var group in ModelGroups)
            {
                if (!group.IsWildcard && string.Equals(group.Name, target, StringComparison.Ordinal))
                {
                    return group;
                }
            }
        }

        ModelGroup? best = null;
        foreach (var group in ModelGroups)
        {
            if (group.IsWildcard && group.Matches(requestedModel) &&
                (best is null || group.Name.Length > best.Name.Length))
            {
                best = group;
            }
        }

        return best;
    }
}
