using System.Globalization;

namespace Broker.Config.Model;

/// <summary>
/// LiteLLM's duration text, as keys, budgets and reports take it: <c>30s</c>, <c>30m</c>, <c>30h</c>, <c>30d</c>,
/// <c>2w</c>, <c>1mo</c>, or plain seconds; fractions allowed (<c>1.5h</c>). One reading for every role, so a
/// budget_duration the Ingress accepts is one Billing can reset.
/// </summary>
public readonly record struct LiteLlmDuration(double Amount, LiteLlmDurationUnit Unit)
{
    public static bool TryParse(string? text, out LiteLlmDuration duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var t = text.Trim().ToLowerInvariant();
        var (number, unit) = t.EndsWith("mo", StringComparison.Ordinal) ? (t[..^2], LiteLlmDurationUnit.Month)
            : t[^1] switch
            {
                's' => (t[..^1], LiteLlmDurationUnit.Second),
                'm' => (t[..^1], LiteLlmDurationUnit.Minute),
                'h' => (t[..^1], LiteLlmDurationUnit.Hour),
                'd' => (t[..^1], LiteLlmDurationUnit.Day),
                'w' => (t[..^1], LiteLlmDurationUnit.Week),
                _ => (t, LiteLlmDurationUnit.Second),
            };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount < 0 || !double.IsFinite(amount))
        {
            return false;
        }

        duration = new LiteLlmDuration(amount, unit);
        return true;
    }

    /// <summary>The length, a month counted as 30 days.</summary>
    public TimeSpan Length => Unit switch
    {
        LiteLlmDurationUnit.Minute => TimeSpan.FromMinutes(Amount),
        LiteLlmDurationUnit.Hour => TimeSpan.FromHours(Amount),
        LiteLlmDurationUnit.Day => TimeSpan.FromDays(Amount),
        LiteLlmDurationUnit.Week => TimeSpan.FromDays(7 * Amount),
        LiteLlmDurationUnit.Month => TimeSpan.FromDays(30 * Amount),
        _ => TimeSpan.FromSeconds(Amount),
    };

    /// <summary>When a period starting at <paramref name="from"/> ends: whole months are calendar months.</summary>
    public DateTimeOffset After(DateTimeOffset from) =>
        Unit == LiteLlmDurationUnit.Month && Amount == Math.Floor(Amount) ? from.AddMonths((int)Amount) : from + Length;
}

public enum LiteLlmDurationUnit
{
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
}
