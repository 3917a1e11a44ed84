using System.Globalization;

namespace Broker.Ingress.Keys;

/// <summary>LiteLLM's durations: <c>30s</c>, <c>30m</c>, <c>30h</c>, <c>30d</c>, <c>2w</c>, <c>1mo</c> (30 days), or plain seconds.</summary>
public static class DurationText
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var t = text.Trim().ToLowerInvariant();
        var (number, unit) = t.EndsWith("mo", StringComparison.Ordinal) ? (t[..^2], TimeSpan.FromDays(30))
            : t[^1] switch
            {
                's' => (t[..^1], TimeSpan.FromSeconds(1)),
                'm' => (t[..^1], TimeSpan.FromMinutes(1)),
                'h' => (t[..^1], TimeSpan.FromHours(1)),
                'd' => (t[..^1], TimeSpan.FromDays(1)),
                'w' => (t[..^1], TimeSpan.FromDays(7)),
                _ => (t, TimeSpan.FromSeconds(1)),
            };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsInfinity(value))
        {
            return false;
        }

        duration = unit * value;
        return true;
    }
}
