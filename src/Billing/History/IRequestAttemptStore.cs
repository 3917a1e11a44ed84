using System.Data.Common;
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

/// <summary>The reading both stores share: the columns of <c>broker_request_attempts</c>, in the order their queries select them.</summary>
internal static class RequestAttemptRows
{
    public const string Columns = """
        attempt, original_model_group, model_group, deployment_id, status_code, error_class, started_at, latency_ms,
        key_hash, user_id, team_id
        """;

    /// <summary>The request's attempts from <paramref name="reader"/>; <paramref name="time"/> reads a store's timestamp column.</summary>
    public static async Task<RequestHistoryFound?> ReadAsync(
        DbDataReader reader, Guid requestId, Func<DbDataReader, int, DateTimeOffset> time, CancellationToken cancellationToken)
    {
        static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
        var attempts = new List<RequestAttempt>();
        string? keyHash = null, userId = null, teamId = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            attempts.Add(new RequestAttempt
            {
                Attempt = reader.GetInt32(0),
                OriginalModelGroup = reader.GetString(1),
                ModelGroup = reader.GetString(2),
                DeploymentId = Text(reader, 3),
                StatusCode = reader.GetInt32(4),
                ErrorClass = Text(reader, 5),
                StartedAt = time(reader, 6),
                LatencyMs = reader.GetDouble(7),
            });
            keyHash ??= Text(reader, 8);
            userId ??= Text(reader, 9);
            teamId ??= Text(reader, 10);
        }

        return attempts.Count == 0
            ? null
            : new RequestHistoryFound { RequestId = requestId, KeyHash = keyHash, UserId = userId, TeamId = teamId, Attempts = attempts };
    }
}
