using Broker.Config.Model;
using Broker.Config.Validation;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>Reads the keys shared by router_settings and litellm_settings (fallbacks, retries, aliases, timeout...).</summary>
internal static class RoutingKeysReader
{
    public static RoutingValues Read(MapReader section, string timeoutKey)
    {
        var values = new RoutingValues
        {
            NumRetries = section.Int("num_retries"),
            Timeout = section.Duration(timeoutKey),
            AllowedFails = section.Int("allowed_fails"),
            CooldownTime = section.Duration("cooldown_time"),
            MaxFallbacks = section.Int("max_fallbacks"),
            Fallbacks = ReadFallbacks(section, "fallbacks"),
            ContextWindowFallbacks = ReadFallbacks(section, "context_window_fallbacks"),
            ContentPolicyFallbacks = ReadFallbacks(section, "content_policy_fallbacks"),
        };

        if (section.Take("default_fallbacks") is { } defaultsNode)
        {
            var path = section.ChildPath("default_fallbacks");
            var refs = new List<NameRef>();
            var names = ReadTargets(section.Convert, defaultsNode, path, refs);
            values.DefaultFallbacks = names is null ? null : new Referenced<IReadOnlyList<string>>(names, refs);
        }

        if (section.Take("model_group_alias") is { } aliasNode)
        {
            ReadAliases(section.Convert, aliasNode, section.ChildPath("model_group_alias"), values);
        }

        return values;
    }

    private static Referenced<IReadOnlyList<FallbackRule>>? ReadFallbacks(MapReader section, string key)
    {
        var node = section.Take(key);
        if (node is null)
        {
            return null;
        }

        var convert = section.Convert;
        var path = section.ChildPath(key);

        // Written as a list of one-key maps; a single map is taken as a one-item list.
        List<YamlNode>? items = node is YamlMappingNode single ? [single] : convert.Sequence(node, path)?.Children.ToList();
        if (items is null)
        {
            return null;
        }

        var rules = new List<FallbackRule>();
        var refs = new List<NameRef>();
        for (var i = 0; i < items.Count; i++)
        {
            var itemPath = node is YamlMappingNode ? path : $"{path}[{i}]";
            var map = convert.Map(items[i], itemPath);
            if (map is null)
            {
                continue;
            }

            foreach (var (keyNode, valueNode) in map.Children)
            {
                var group = convert.Key(keyNode, itemPath);
                if (group is null)
                {
                    continue;
                }

                var targets = ReadTargets(convert, valueNode, NodeConverter.Child(itemPath, group), refs);
                if (targets is not null)
                {
                    rules.Add(new FallbackRule(group, targets));
                }
            }
        }

        return new Referenced<IReadOnlyList<FallbackRule>>(rules, refs);
    }

    private static List<string>? ReadTargets(NodeConverter convert, YamlNode node, string path, List<NameRef> refs)
    {
        var names = convert.StringList(node, path);
        if (names is null)
        {
            return null;
        }

        if (node is YamlSequenceNode list)
        {
            for (var j = 0; j < list.Children.Count; j++)
            {
                if (list.Children[j] is YamlScalarNode { Value: { } name } && names.Contains(name))
                {
                    refs.Add(new NameRef(name, list.Children[j], $"{path}[{j}]", NameRefKind.FallbackTarget));
                }
            }
        }
        else if (names.Count == 1)
        {
            refs.Add(new NameRef(names[0], node, path, NameRefKind.FallbackTarget));
        }

        return names;
    }

    /// <summary>model_group_alias: <c>{"gpt-4": "gpt-4o"}</c> or <c>{"gpt-4": {model: "gpt-4o", hidden: true}}</c>.</summary>
    private static void ReadAliases(NodeConverter convert, YamlNode node, string path, RoutingValues values)
    {
        var map = convert.Map(node, path);
        if (map is null)
        {
            return;
        }

        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var hidden = new List<string>();
        var refs = new List<NameRef>();
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var alias = convert.Key(keyNode, path);
            if (alias is null)
            {
                continue;
            }

            var aliasPath = NodeConverter.Child(path, alias);
            string? target;
            YamlNode targetNode = valueNode;
            if (valueNode is YamlMappingNode aliasMap)
            {
                var reader = new MapReader(convert, aliasMap, aliasPath);
                targetNode = reader.Take("model") ?? aliasMap;
                target = reader.String("model");
                if (target is null && !reader.Has("model"))
                {
                    convert.Context.Error(aliasMap, NodeConverter.Child(aliasPath, "model"), "required");
                }

                if (reader.Bool("hidden") == true)
                {
                    hidden.Add(alias);
                }

                reader.Finish();
            }
            else
            {
                target = convert.String(valueNode, aliasPath);
            }

            if (!string.IsNullOrWhiteSpace(target))
            {
                aliases[alias] = target;
                refs.Add(new NameRef(target, targetNode, aliasPath, NameRefKind.AliasTarget));
            }
        }

        values.ModelGroupAlias = new Referenced<IReadOnlyDictionary<string, string>>(aliases, refs);
        values.HiddenAliases = hidden;
    }
}
