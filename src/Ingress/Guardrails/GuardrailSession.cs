using System.Collections.Concurrent;
using System.Text;

namespace Broker.Ingress.Guardrails;

/// <summary>
/// What the guardrails of one request share: the reversible placeholders handed out while masking (<c>[EMAIL_1]</c> →
/// the address), so the answer can be unmasked for the client while the provider only ever saw the placeholders.
/// </summary>
public sealed class GuardrailSession
{
    private readonly ConcurrentDictionary<string, string> _byPlaceholder = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _byValue = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _counters = new(StringComparer.Ordinal);

    /// <summary>True once any placeholder was handed out.</summary>
    public bool HasPlaceholders => !_byPlaceholder.IsEmpty;

    /// <summary>The longest placeholder handed out (how much of a stream's tail may be the start of one).</summary>
    public int LongestPlaceholder { get; private set; }

    /// <summary>The placeholder for <paramref name="value"/> of kind <paramref name="label"/>: the same value gets the same placeholder.</summary>
    public string Placeholder(string label, string value)
    {
        lock (_counters)
        {
            if (_byValue.TryGetValue(label + "\0" + value, out var existing))
            {
                return existing;
            }

            var n = _counters.AddOrUpdate(label, 1, (_, c) => c + 1);
            var placeholder = $"[{label}_{n}]";
            _byValue[label + "\0" + value] = placeholder;
            _byPlaceholder[placeholder] = value;
            LongestPlaceholder = Math.Max(LongestPlaceholder, placeholder.Length);
            return placeholder;
        }
    }

    /// <summary>Remembers a placeholder chosen elsewhere (Presidio's <c>&lt;EMAIL_ADDRESS&gt;</c>) for <paramref name="value"/>.</summary>
    public void Remember(string placeholder, string value)
    {
        if (_byPlaceholder.TryAdd(placeholder, value))
        {
            lock (_counters)
            {
                LongestPlaceholder = Math.Max(LongestPlaceholder, placeholder.Length);
            }
        }
    }

    /// <summary><paramref name="text"/> with every known placeholder replaced by its original value.</summary>
    public string Unmask(string text)
    {
        if (_byPlaceholder.IsEmpty || string.IsNullOrEmpty(text))
        {
            return text;
        }

        var sb = new StringBuilder(text);
        foreach (var (placeholder, value) in _byPlaceholder.OrderByDescending(p => p.Key.Length))
        {
            sb.Replace(placeholder, value);
        }

        return sb.ToString();
    }

    /// <summary>How many characters at the end of <paramref name="text"/> could be the start of a placeholder (held back in streams).</summary>
    public int PossiblePlaceholderTail(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var window = Math.Min(text.Length, LongestPlaceholder);
        for (var start = text.Length - window; start < text.Length; start++)
        {
            var tail = text.AsSpan(start);
            foreach (var placeholder in _byPlaceholder.Keys)
            {
                if (placeholder.AsSpan().StartsWith(tail, StringComparison.Ordinal))
                {
                    return text.Length - start;
                }
            }
        }

        return 0;
    }
}
