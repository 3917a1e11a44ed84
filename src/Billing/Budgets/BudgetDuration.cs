using System.Globalization;

namespace Broker.Billing.Budgets;

/// <summary>LiteLLM's budget_duration: <c>30s</c>, <c>30m</c>, <c>24h</c>, <c>30d</c>, <c>1w</c>, <c>1mo</c>.</summary>
public static class BudgetDuration
{
    /// <summary>When a period that starts at <paramref name="from"/> ends; null when the text is not a duration.</summary>
    public static DateTimeOffset? NextReset(string? duration, DateTimeOffset from)
    {
        if (string.IsNullOrWhiteSpace(duration))
        {
            return null;
        }

        var s = duration.Trim().ToLowerInvariant();
        var unitLength = s.EndsWith("mo", StringComparison.Ordinal) ? 2 : 1;
        if (s.Length <= unitLength || !int.TryParse(s[..^unitLength], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return null;
        }

        return s[^unitLength..] switch
        {
            "s" => from.AddSeconds(n),
            "m" => from.AddMinutes(n),
            "h" => from.AddHours(n),
            "d" => from.AddDays(n),
            "w" => from.AddDays(7 * n),
            "mo" => from.AddMonths(n),
            _ => null,
        };
    }
}
