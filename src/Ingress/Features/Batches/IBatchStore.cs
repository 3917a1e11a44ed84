namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Batches and their lines (broker_batches, broker_batch_lines). Every state change is one conditional statement: a
/// line is leased (in_flight until lease_until) and its result is recorded once, by the first answer that arrives.
/// Two implementations with one behaviour, proved by one contract test suite: <see cref="BatchStore"/> (PostgreSQL,
/// shared by several processes with <c>FOR UPDATE SKIP LOCKED</c>) and <see cref="SqliteBatchStore"/> (the embedded
/// file: one process, whose writes SQLite serialises).
/// </summary>
public interface IBatchStore
{
    /// <summary>True when batches can be kept (a PostgreSQL database or the embedded SQLite file).</summary>
    bool IsConfigured { get; }

    string NewId();

    Task InsertAsync(BatchRecord batch, string? caller, CancellationToken cancellationToken);

    /// <summary>The owner's batch with its live request counts, or null.</summary>
    Task<BatchRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<BatchRecord>> ListAsync(string owner, string? after, int limit, CancellationToken cancellationToken, string? endpoint = null);

    /// <summary>Moves the owner's validating or in-progress batch to cancelling; the batch afterwards, or null when there is none.</summary>
    Task<BatchRecord?> CancelAsync(string owner, string id, CancellationToken cancellationToken);

    /// <summary>Leases up to <paramref name="limit"/> pending lines of <paramref name="modelGroup"/> from in-progress batches (oldest batch first).</summary>
    Task<IReadOnlyList<ClaimedLine>> ClaimAsync(string modelGroup, int limit, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Records several lines' results, each unless it already has one; returns how many counted.</summary>
    Task<int> RecordManyAsync(IReadOnlyList<LineResult> results, CancellationToken cancellationToken);

    /// <summary>Gives leased lines back: they are pending again.</summary>
    Task ReleaseAsync(IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken);

    /// <summary>Expired leases back to pending; pending lines of cancelling or expired batches closed; returns the batches ready to finalize.</summary>
    Task<IReadOnlyList<string>> SweepAsync(CancellationToken cancellationToken);

    /// <summary>How many of the batch's lines are in each status.</summary>
    Task<IReadOnlyDictionary<string, int>> CountByStatusAsync(string batchId, CancellationToken cancellationToken);
}
