using System.Text.Json;
using System.Text.RegularExpressions;

namespace Broker.Ingress.Guardrails.BuiltIn;

/// <summary>
/// hide_secrets' pattern set, read once from the embedded data file <c>secret-patterns.json</c> (one entry per
/// credential format). <see cref="Mask"/> replaces each secret found with <c>[REDACTED:&lt;id&gt;]</c>.
/// </summary>
public sealed class SecretPatterns
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    private SecretPatterns(IReadOnlyList<SecretPattern> patterns) => Patterns = patterns;

    /// <summary>The built-in set.</summary>
    public static SecretPatterns Default { get; } = Load();

    public IReadOnlyList<SecretPattern> Patterns { get; }

    /// <summary>The secrets in <paramref name="text"/>: (pattern id, start, length), earliest first, overlaps dropped.</summary>
    public IReadOnlyList<(string Id, int Start, int Length)> Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<(string Id, int Start, int Length, int Order)>();
        for (var order = 0; order < Patterns.Count; order++)
        {
            var pattern = Patterns[order];
            foreach (Match match in pattern.Regex.Matches(text))
            {
                var group = match.Groups["secret"] is { Success: true } secret ? secret : (Group)match;
                if (pattern.MinEntropy > 0 && Entropy(group.ValueSpan) < pattern.MinEntropy)
                {
                    continue;
                }

                found.Add((pattern.Id, group.Index, group.Length, order));
            }
        }

        // earliest first; at one position the longest, then the entry listed first (specific formats precede generic ones)
        found.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Length != b.Length ? b.Length.CompareTo(a.Length) : a.Order.CompareTo(b.Order));
        var kept = new List<(string Id, int Start, int Length)>(found.Count);
        var end = -1;
        foreach (var f in found)
        {
            if (f.Start >= end)
            {
                kept.Add((f.Id, f.Start, f.Length));
                end = f.Start + f.Length;
            }
        }

        return kept;
    }

    /// <summary><paramref name="text"/> with every secret replaced by <c>[REDACTED:&lt;id&gt;]</c>; the same instance when none.</summary>
    public string Mask(string text)
    {
        var found = Find(text);
        if (found.Count == 0)
        {
            return text;
        }

        var sb = new System.Text.StringBuilder(text.Length);
        var at = 0;
        foreach (var (id, start, length) in found)
        {
            sb.Append(text, at, start - at).Append("[REDACTED:").Append(id).Append(']');
            at = start + length;
        }

        return sb.Append(text, at, text.Length - at).ToString();
    }

    /// <summary>Shannon entropy in bits per character.</summary>
    public static double Entropy(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return 0;
        }

        var counts = new Dictionary<char, int>();
        foreach (var c in value)
        {
            counts[c] = counts.GetValueOrDefault(c) + 1;
        }

        var entropy = 0.0;
        foreach (var count in counts.Values)
        {
            var p = (double)count / value.Length;
            entropy -= p * Math.Log2(p);
        }

        return entropy;
    }

    private static SecretPatterns Load()
    {
        using var stream = typeof(SecretPatterns).Assembly.GetManifestResourceStream("Broker.Ingress.Guardrails.secret-patterns.json")
            ?? throw new InvalidOperationException("secret-patterns.json is not embedded in Broker.Ingress");
        using var document = JsonDocument.Parse(stream);
        var patterns = new List<SecretPattern>();
        foreach (var entry in document.RootElement.GetProperty("patterns").EnumerateArray())
        {
            var id = entry.GetProperty("id").GetString()!;
            var regex = new Regex(entry.GetProperty("pattern").GetString()!, RegexOptions.Compiled | RegexOptions.CultureInvariant, MatchTimeout);
            var minEntropy = entry.TryGetProperty("minEntropy", out var e) ? e.GetDouble() : 0;
            patterns.Add(new SecretPattern(id, entry.GetProperty("description").GetString() ?? "", regex, minEntropy));
        }

        return new SecretPatterns(patterns);
    }
}
