namespace Broker.Ingress.Auth;

/// <summary>
/// The outcome of <see cref="BudgetReservations.ReserveAsync"/>: the estimate held against every budget scope (settle
/// it with <see cref="BudgetReservations.SettleAsync"/>), or the scope that refused and what it holds.
/// </summary>
public sealed record BudgetReservation(IReadOnlyList<BudgetReservation.Hold> Held, BudgetReservation.Refused? Refusal)
{
    public static BudgetReservation None { get; } = new([], null);

    /// <summary>An estimate held in one scope's ledger, in the minute bucket it was taken in; <c>Shared</c> when in Redis.</summary>
    public sealed record Hold(string Ledger, long Minute, long Units, bool Shared);

    /// <summary>The scope whose known spend plus settled-but-unbilled spend plus reservations in flight reached its budget.</summary>
    public sealed record Refused(BudgetScope Scope, decimal Spend, decimal InFlight);
}
