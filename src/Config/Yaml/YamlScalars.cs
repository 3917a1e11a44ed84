using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Yaml;

/// <summary>YAML 1.1 scalar rules as LiteLLM users write them: <c>20_000</c>, <c>yes</c>/<c>off</c>, <c>~</c>, <c>30s</c>.</summary>
internal static class YamlScalars
{
    /// <summary>True for a plain empty value, <c>~</c> or <c>null</c>.</summary>
    public static bool IsNull(YamlScalarNode node) =>
        node.Style is ScalarStyle.Plain or ScalarStyle.Any &&
        (string.IsNullOrEmpty(node.Value) || node.Value is "~" or "null" or "Null" or "NULL");

    /// <summary>True when the scalar was written without quotes (its type is inferred).</summary>
    public static bool IsPlain(YamlScalarNode node) => node.Style is ScalarStyle.Plain or ScalarStyle.Any;

    public static bool TryParseBool(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on":
                value = true;
                return true;
            case "false" or "no" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    public static bool TryParseLong(string text, out long value)
    {
        var s = text.Trim().Replace("_", "", StringComparison.Ordinal);
        if (s.Length == 0 || s.Contains(' ', StringComparison.Ordinal))
        {
            value = 0;
            return false;
        }

        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        // 1e3 or 60.0: integral values written as floats are accepted.
        if (TryParseDouble(s, out var d) && Math.Abs(d) < 9.2e18 && Math.Floor(d) == d)
        {
            value = (long)d;
            return true;
        }

        value = 0;
        return false;
    }

    public static bool TryParseDouble(string text, out double value)
    {
        var s = text.Trim().Replace("_", "", StringComparison.Ordinal);
        if (s.Length == 0 || char.IsLetter(s[^1]) && !s.EndsWith("inf", StringComparison.OrdinalIgnoreCase))
        {
            value = 0;
            return false;
        }

        switch (s.ToLowerInvariant())
        {
            case ".inf" or "+.inf":
                value = double.PositiveInfinity;
                return true;
            case "-.inf":
                value = double.NegativeInfinity;
                return true;
            case ".nan":
                value = double.NaN;
                return true;
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    public static bool TryParseDecimal(string text, out decimal value)
    {
        var s = text.Trim().Replace("_", "", StringComparison.Ordinal);
        return decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A number of seconds (<c>30</c>, <c>0.5</c>) or a number with a unit: <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>, <c>d</c>, <c>w</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.Trim().ToLowerInvariant();
        if (s.Length == 0)
        {
            return false;
        }

        double unitSeconds = 1;
        string number = s;
        if (s.EndsWith("ms", StringComparison.Ordinal))
        {
            unitSeconds = 0.001;
            number = s[..^2];
        }
        else if (char.IsLetter(s[^1]))
        {
            unitSeconds = s[^1] switch
            {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                'w' => 604800,
                _ => -1,
            };
            number = s[..^1];
        }

        if (unitSeconds < 0 || !TryParseDouble(number, out var amount) || amount < 0)
        {
            return false;
        }

        var seconds = amount * unitSeconds;
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>
    /// The typed value of an untyped (plain) scalar: bool, long, double or the text itself.
    /// Only plain decimal integers become long; <c>2024-02-15</c> and <c>1.2.3</c> stay strings.
    /// </summary>
    public static object Infer(string text)
    {
        if (TryParseBool(text, out var b))
        {
            return b;
        }

        var s = text.Trim();
        if (s.Length > 0 && LooksInteger(s) && TryParseLong(s, out var l))
        {
            return l;
        }

        if (s.Length > 0 && (char.IsAsciiDigit(s[0]) || s[0] is '-' or '+' or '.') && TryParseDouble(s, out var d))
        {
            return d;
        }

        return text;
    }

    private static bool LooksInteger(string s)
    {
        var start = s[0] is '-' or '+' ? 1 : 0;
        if (start >= s.Length || !char.IsAsciiDigit(s[start]))
        {
            return false;
        }

        for (var i = start; i < s.Length; i++)
        {
            if (!char.IsAsciiDigit(s[i]) && s[i] != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Words for a node's kind in "expected X, got Y" messages.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a map",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an unsupported node",
    };
}
