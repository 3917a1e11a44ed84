using System.Text;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Client text made storable in PostgreSQL: a <c>text</c> value cannot hold NUL (error 22021) and UTF-8 cannot encode a
/// lone UTF-16 surrogate; a <c>jsonb</c> value cannot hold the escape <c>\u0000</c> nor an unpaired surrogate escape
/// (22P05). NULs are dropped and lone surrogates become U+FFFD, so one odd request can never make a write fail.
/// Text that needs nothing is returned as is, without copying.
/// </summary>
public static class PgText
{
    private const char Replacement = '\uFFFD';

    /// <summary>The value without NUL characters, lone surrogates replaced by U+FFFD.</summary>
    public static string? Clean(string? value)
    {
        if (value is null || IsClean(value))
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                text.Append(c).Append(value[++i]);
            }
            else
            {
                text.Append(char.IsSurrogate(c) ? Replacement : c);
            }
        }

        return text.ToString();
    }

    /// <summary>True when <see cref="Clean"/> would change nothing.</summary>
    public static bool IsClean(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }

    /// <summary>
    /// JSON text for a <c>jsonb</c> column: <see cref="Clean"/> on the characters, and the escapes PostgreSQL refuses
    /// (<c>\u0000</c>, an unpaired <c>\uD800</c>-<c>\uDFFF</c>) dropped or replaced by <c>\uFFFD</c>.
    /// </summary>
    public static string? CleanJson(string? json)
    {
        json = Clean(json);
        if (json is null || !json.Contains("\\u", StringComparison.OrdinalIgnoreCase))
        {
            return json;
        }

        var text = new StringBuilder(json.Length);
        var i = 0;
        while (i < json.Length)
        {
            var c = json[i];
            if (c != '\\' || i + 1 >= json.Length)
            {
                text.Append(c);
                i++;
                continue;
            }

            if (json[i + 1] is not ('u' or 'U') || Escape(json, i) is not { } code)
            {
                // any other escape (\\, \", \n ...) is copied whole, so an escaped backslash is never read as the start of one
                text.Append(c).Append(json[i + 1]);
                i += 2;
                continue;
            }

            if (code == 0)
            {
                i += 6;
            }
            else if (char.IsHighSurrogate(code) && Escape(json, i + 6) is { } low && char.IsLowSurrogate(low))
            {
                text.Append(json, i, 12);
                i += 12;
            }
            else if (char.IsSurrogate(code))
            {
                text.Append("\\ufffd");
                i += 6;
            }
            else
            {
                text.Append(json, i, 6);
                i += 6;
            }
        }

        return text.ToString();
    }

    /// <summary>The character of a <c>\uXXXX</c> escape starting at <paramref name="at"/>, or null.</summary>
    private static char? Escape(string json, int at)
    {
        if (at + 6 > json.Length || json[at] != '\\' || json[at + 1] is not ('u' or 'U'))
        {
            return null;
        }

        return int.TryParse(json.AsSpan(at + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier,
            System.Globalization.CultureInfo.InvariantCulture, out var code) ? (char)code : null;
    }
}
