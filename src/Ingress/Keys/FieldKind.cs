namespace Broker.Ingress.Keys;

/// <summary>How a management request field is read and stored.</summary>
public enum FieldKind
{
    Text,
    TextArray,
    Money,
    WholeNumber,
    SmallWholeNumber,
    Json,
    Bool,

    /// <summary>budget_duration: stored as text; also starts budget_reset_at.</summary>
    BudgetDuration,

    /// <summary>duration (<c>30d</c>): stored as the expires timestamp; null = never.</summary>
    Expiry,
}
