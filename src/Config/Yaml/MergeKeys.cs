using YamlDotNet.RepresentationModel;

namespace Broker.Config.Yaml;

/// <summary>
/// Applies YAML 1.1 merge keys (<c>&lt;&lt;: *base</c> or <c>&lt;&lt;: [*a, *b]</c>) in place:
/// keys written in the map win over merged ones, earlier merge sources win over later ones.
/// </summary>
internal static class MergeKeys
{
    private const string MergeKey = "<<";

    public static void Apply(YamlNode? root) => Apply(root, new HashSet<YamlNode>(ReferenceEqualityComparer.Instance));

    private static void Apply(YamlNode? node, HashSet<YamlNode> done)
    {
        if (node is null || !done.Add(node))
        {
            return;
        }

        switch (node)
        {
            case YamlSequenceNode list:
                foreach (var child in list.Children)
                {
                    Apply(child, done);
                }

                break;
            case YamlMappingNode map:
                foreach (var child in map.Children.Values.ToList())
                {
                    Apply(child, done);
                }

                Merge(map, done);
                break;
        }
    }

    private static void Merge(YamlMappingNode map, HashSet<YamlNode> done)
    {
        var mergeEntry = map.Children.FirstOrDefault(e => e.Key is YamlScalarNode { Value: MergeKey } k && YamlScalars.IsPlain(k));
        if (mergeEntry.Key is null)
        {
            return;
        }

        var sources = mergeEntry.Value switch
        {
            YamlMappingNode single => [single],
            YamlSequenceNode list when list.Children.All(c => c is YamlMappingNode) => list.Children.Cast<YamlMappingNode>().ToList(),
            _ => null,
        };
        if (sources is null)
        {
            return; // Left in place: reported as an unknown key or kept as a parameter.
        }

        map.Children.Remove(mergeEntry.Key);
        var present = map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value).ToHashSet(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            Apply(source, done);
            foreach (var (key, value) in source.Children)
            {
                if (key is YamlScalarNode { Value: { } name } && present.Add(name))
                {
                    map.Children.Add(key, value);
                }
            }
        }
    }
}
