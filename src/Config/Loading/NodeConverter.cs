using System.Buffers;
using System.Text.Json;
using Broker.Config.Model;
using Broker.Config.Yaml;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>Typed reads of YAML nodes; a value of the wrong type becomes an error naming the path, and null.</summary>
internal sealed class NodeConverter(LoadContext context)
{
    public LoadContext Context { get; } = context;

    public string? String(YamlNode node, string path)
    {
        if (node is YamlScalarNode scalar)
        {
            return Context.Resolve(scalar, path);
        }

        Context.Error(node, path, $"expected a string, got {YamlScalars.Describe(node)}");
        return null;
    }

    /// <summary>A string that is a secret; empty counts as absent.</summary>
    public Secret? Secret(YamlNode node, string path)
    {
        var value = String(node, path);
        return string.IsNullOrEmpty(value) ? null : new Secret(value);
    }

    public int? Int(YamlNode node, string path, int min = 0)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!YamlScalars.TryParseLong(text, out var value) || value > int.MaxValue || value < int.MinValue)
        {
            Context.Error(node, path, $"expected an integer, got '{text}'");
            return null;
        }

        if (value < min)
        {
            Context.Error(node, path, $"expected an integer >= {min}, got '{text}'");
            return null;
        }

        return (int)value;
    }

    public double? Double(YamlNode node, string path, double min = double.MinValue)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!YamlScalars.TryParseDouble(text, out var value))
        {
            Context.Error(node, path, $"expected a number, got '{text}'");
            return null;
        }

        if (value < min)
        {
            Context.Error(node, path, $"expected a number >= {min}, got '{text}'");
            return null;
        }

        return value;
    }

    public decimal? Decimal(YamlNode node, string path)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!YamlScalars.TryParseDecimal(text, out var value) || value < 0)
        {
            Context.Error(node, path, $"expected a non-negative number, got '{text}'");
            return null;
        }

        return value;
    }

    public bool? Bool(YamlNode node, string path)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!YamlScalars.TryParseBool(text, out var value))
        {
            Context.Error(node, path, $"expected true or false, got '{text}'");
            return null;
        }

        return value;
    }

    public TimeSpan? Duration(YamlNode node, string path)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!YamlScalars.TryParseDuration(text, out var value))
        {
            Context.Error(node, path, $"expected a duration in seconds (e.g. 30, '30s', '5m', '1h', '1d'), got '{text}'");
            return null;
        }

        return value;
    }

    public YamlMappingNode? Map(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlMappingNode map:
                return map;
            case YamlScalarNode scalar when YamlScalars.IsNull(scalar):
                return null;
            default:
                Context.Error(node, path, $"expected a map, got {YamlScalars.Describe(node)}");
                return null;
        }
    }

    public YamlSequenceNode? Sequence(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlSequenceNode list:
                return list;
            case YamlScalarNode scalar when YamlScalars.IsNull(scalar):
                return null;
            default:
                Context.Error(node, path, $"expected a list, got {YamlScalars.Describe(node)}");
                return null;
        }
    }

    /// <summary>A list of strings; a single string counts as a one-item list.</summary>
    public List<string>? StringList(YamlNode node, string path)
    {
        if (node is YamlScalarNode scalar)
        {
            var single = Context.Resolve(scalar, path);
            return single is null ? null : [single];
        }

        var list = Sequence(node, path);
        if (list is null)
        {
            return null;
        }

        var result = new List<string>(list.Children.Count);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = String(list.Children[i], $"{path}[{i}]");
            if (item is not null)
            {
                result.Add(item);
            }
        }

        return result;
    }

    /// <summary>A map of strings to strings (scalar values of any YAML type are taken as text).</summary>
    public Dictionary<string, string>? StringMap(YamlNode node, string path)
    {
        var map = Map(node, path);
        if (map is null)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = Key(keyNode, path);
            if (key is null)
            {
                continue;
            }

            var value = String(valueNode, Child(path, key));
            if (value is not null)
            {
                result[key] = value;
            }
        }

        return result;
    }

    /// <summary>The text of a mapping key; complex keys are errors.</summary>
    public string? Key(YamlNode keyNode, string parentPath)
    {
        if (keyNode is YamlScalarNode scalar && scalar.Value is not null)
        {
            return scalar.Value;
        }

        Context.Error(keyNode, parentPath, "map keys must be plain strings");
        return null;
    }

    /// <summary>A node as plain .NET values: null, bool, long, double, string, List, Dictionary.</summary>
    public object? ToObject(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                var text = Context.Resolve(scalar, path);
                if (text is null)
                {
                    return null;
                }

                return YamlScalars.IsPlain(scalar) || LoadContext.IsEnvReference(scalar) ? YamlScalars.Infer(text) : text;
            case YamlSequenceNode list:
                var items = new List<object?>(list.Children.Count);
                for (var i = 0; i < list.Children.Count; i++)
                {
                    items.Add(ToObject(list.Children[i], $"{path}[{i}]"));
                }

                return items;
            case YamlMappingNode map:
                var result = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (keyNode, valueNode) in map.Children)
                {
                    var key = Key(keyNode, path);
                    if (key is not null)
                    {
                        result[key] = ToObject(valueNode, Child(path, key));
                    }
                }

                return result;
            default:
                return null;
        }
    }

    /// <summary>A node as a JSON value: plain scalars typed (numbers, booleans, null), quoted ones strings.</summary>
    public JsonElement ToJson(YamlNode node, string path)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteJson(writer, ToObject(node, path));
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void WriteJson(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d:
                if (double.IsFinite(d))
                {
                    writer.WriteNumberValue(d);
                }
                else
                {
                    writer.WriteNullValue();
                }

                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case List<object?> list:
                writer.WriteStartArray();
                foreach (var item in list)
                {
                    WriteJson(writer, item);
                }

                writer.WriteEndArray();
                break;
            case Dictionary<string, object?> map:
                writer.WriteStartObject();
                foreach (var (key, item) in map)
                {
                    writer.WritePropertyName(key);
                    WriteJson(writer, item);
                }

                writer.WriteEndObject();
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    public static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
