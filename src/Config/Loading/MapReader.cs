using Broker.Config.Model;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// Reads one YAML map whose keys are known: each typed read marks its key as known (and reports it once as
/// "not active yet" when <see cref="ConfigFeatures.NotActiveYet"/> lists it); <see cref="Finish"/> warns about
/// every key nobody read and returns those keys as the section's Extra map.
/// </summary>
internal sealed class MapReader
{
    private readonly NodeConverter _convert;
    private readonly List<(string Key, YamlNode KeyNode, YamlNode Value)> _entries = [];
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

    public MapReader(NodeConverter convert, YamlMappingNode? map, string path)
    {
        _convert = convert;
        Path = path;
        Node = map;
        if (map is null)
        {
            return;
        }

        foreach (var (keyNode, value) in map.Children)
        {
            var key = convert.Key(keyNode, path);
            if (key is not null)
            {
                _entries.Add((key, keyNode, value));
            }
        }
    }

    public string Path { get; }

    public YamlMappingNode? Node { get; }

    public NodeConverter Convert => _convert;

    public string ChildPath(string key) => NodeConverter.Child(Path, key);

    public bool Has(string key) => _entries.Exists(e => e.Key == key);

    /// <summary>Marks <paramref name="key"/> as known and returns its value node, or null when absent.</summary>
    public YamlNode? Take(string key)
    {
        _taken.Add(key);
        _convert.Context.KnownKeys.Add(ConfigFeatures.PatternOf(ChildPath(key)));
        foreach (var (k, keyNode, value) in _entries)
        {
            if (k == key)
            {
                var path = ChildPath(key);
                var pattern = ConfigFeatures.PatternOf(path);
                var notActive = ConfigFeatures.NotActiveYet.Contains(pattern) ||
                    (ConfigFeatures.ActiveOnlyWithValues.TryGetValue(pattern, out var activeValues) &&
                     !(value is YamlScalarNode scalar && scalar.Value is { } text && activeValues.Contains(text)));
                if (notActive && _convert.Context.FirstTime(pattern))
                {
                    _convert.Context.Info(keyNode, path, ConfigFeatures.NotActiveMessage);
                }

                return value;
            }
        }

        return null;
    }

    public string? String(string key) => Take(key) is { } n ? _convert.String(n, ChildPath(key)) : null;

    public Secret? Secret(string key) => Take(key) is { } n ? _convert.Secret(n, ChildPath(key)) : null;

    public int? Int(string key, int min = 0) => Take(key) is { } n ? _convert.Int(n, ChildPath(key), min) : null;

    public double? Double(string key, double min = double.MinValue) =>
        Take(key) is { } n ? _convert.Double(n, ChildPath(key), min) : null;

    public decimal? Decimal(string key) => Take(key) is { } n ? _convert.Decimal(n, ChildPath(key)) : null;

    public bool? Bool(string key) => Take(key) is { } n ? _convert.Bool(n, ChildPath(key)) : null;

    public TimeSpan? Duration(string key) => Take(key) is { } n ? _convert.Duration(n, ChildPath(key)) : null;

    public List<string>? StringList(string key) => Take(key) is { } n ? _convert.StringList(n, ChildPath(key)) : null;

    /// <summary>
    /// As <see cref="StringList"/>, with each item's node and key path, for a diagnostic about one item; null when absent.
    /// </summary>
    public List<(string Value, YamlNode Node, string Path)>? StringItems(string key)
    {
        if (Take(key) is not { } node)
        {
            return null;
        }

        var path = ChildPath(key);
        if (node is not YamlSequenceNode sequence)
        {
            return _convert.StringList(node, path)?.Select(v => (v, node, path)).ToList();
        }

        var items = new List<(string Value, YamlNode Node, string Path)>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            if (_convert.String(sequence.Children[i], itemPath) is { } value)
            {
                items.Add((value, sequence.Children[i], itemPath));
            }
        }

        return items;
    }

    public Dictionary<string, string>? StringMap(string key) =>
        Take(key) is { } n ? _convert.StringMap(n, ChildPath(key)) : null;

    public YamlMappingNode? Map(string key) => Take(key) is { } n ? _convert.Map(n, ChildPath(key)) : null;

    public YamlSequenceNode? Sequence(string key) => Take(key) is { } n ? _convert.Sequence(n, ChildPath(key)) : null;

    public Dictionary<string, object?>? ObjectMap(string key) =>
        Take(key) is { } n && _convert.Map(n, ChildPath(key)) is { } map
            ? (Dictionary<string, object?>?)_convert.ToObject(map, ChildPath(key))
            : null;

    /// <summary>Keys not read so far, in file order.</summary>
    public IEnumerable<(string Key, YamlNode KeyNode, YamlNode Value)> Remaining() =>
        _entries.Where(e => !_taken.Contains(e.Key));

    /// <summary>Warns once about each key nobody read and returns them, converted, as the Extra map.</summary>
    public Dictionary<string, object?> Finish(bool warn = true)
    {
        var extra = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, keyNode, value) in Remaining().ToList())
        {
            var path = ChildPath(key);
            if (warn)
            {
                _convert.Context.Warning(keyNode, path, "unknown key, ignored");
            }

            using (warn ? _convert.Context.UnsetVariablesWarn("this key is not read by Broker, so nothing uses it") : null)
            {
                extra[key] = _convert.ToObject(value, path);
            }

            _taken.Add(key);
        }

        return extra;
    }
}
