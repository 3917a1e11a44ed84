using Broker.Contracts.Usage;

namespace Broker.Billing.Persistence;

/// <summary>
/// Writes a batch of usage events in one transaction: each request counted once (a redelivered event adds nothing),
/// a spend log row per event (or only its id with disable_spend_logs), and the spend of every key, user, team and
/// other entity it touched. Two implementations with one behaviour, proved by one contract test suite:
/// <see cref="SpendWriter"/> (PostgreSQL) and <see cref="SqliteSpendWriter"/> (the embedded file).
/// </summary>
public interface ISpendWriter
{
    Task<SpendWriteResult> WriteAsync(IReadOnlyList<UsageRecorded> events, bool disableSpendLogs, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps the guardrail decisions made after each request was queued (<c>broker_spend_guardrails</c>, read beside its spend
    /// log row), whether or not the row is written yet; a request's decisions already kept (a redelivered event) are not
    /// kept again. Returns how many requests' decisions were new.
    /// </summary>
    Task<int> AddGuardrailsAsync(IReadOnlyList<GuardrailsDecided> events, CancellationToken cancellationToken);
}
