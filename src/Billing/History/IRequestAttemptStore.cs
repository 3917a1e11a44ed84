using Broker.Contracts.History;
using Broker.Contracts.Inference;

namespace Broker.Billing.History;

/// <summary>Where Billing keeps the attempt history: PostgreSQL (<see cref="PostgresRequestAttemptStore"/>) or the embedded SQLite file (<see cref="SqliteRequestAttemptStore"/>).</summary>
public interface IRequestAttemptStore
{
    /// <summary>False when no store is configured: attempts are dropped and the history is answered as unavailable.</summary>
    bool IsConfigured { get; }

    /// <summary>Stores attempts; one already stored (a redelivered event) is not stored again.</summary>
    Task AddAsync(IReadOnlyList<InferenceAttempted> attempts, CancellationToken cancellationToken);

    /// <summary>The request's attempts in the order they started, or null when none is stored.</summary>
    Task<RequestHistoryFound?> FindAsync(Guid requestId, CancellationToken cancellationToken);
}
