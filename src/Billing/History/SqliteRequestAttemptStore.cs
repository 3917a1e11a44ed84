using Broker.Contracts.History;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Database;

namespace Broker.Billing.History;

/// <summary>
/// <see cref="PostgresRequestAttemptStore"/>'s behaviour on the embedded SQLite file: one row per attempt in
/// <c>broker_request_attempts</c>, a redelivered event (same attempt id) inserts nothing.
/// </summary>
public sealed class SqliteRequestAttemptStore(BrokerDatabase database) : IRequestAttemptStore
{
    private static readonly TimeSpan SchemaWait = TimeSpan.FromSeconds(10);

    public bool IsConfigured => database.Kind == DatabaseKind.Sqlite;

    public async Task AddAsync(IReadOnlyList<InferenceAttempted> attempts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        if (attempts.Count == 0)
        {
            return;
        }

        await database.WhenMigrated(cancellationToken).WaitAsync(SchemaWait, cancellationToken);
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        foreach (var a in attempts)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO broker_request_attempts (attempt_id, request_id, attempt, original_model_group, model_group, deployment_id,
                    status_code, error_class, started_at, latency_ms, key_hash, user_id, team_id)
                VALUES ($attempt_id, $request_id, $attempt, $original_model_group, $model_group, $deployment_id,
                    $status_code, $error_class, $started_at, $latency_ms, $key_hash, $user_id, $team_id)
                ON CONFLICT (attempt_id) DO NOTHING
                """;
            command.Parameters.AddWithValue("$attempt_id", a.AttemptId.ToString());
            command.Parameters.AddWithValue("$request_id", a.RequestId.ToString());
            command.Parameters.AddWithValue("$attempt", a.Attempt);
            command.Parameters.AddWithValue("$original_model_group", a.OriginalModelGroup);
            command.Parameters.AddWithValue("$model_group", a.ModelGroup);
            command.Parameters.AddWithValue("$deployment_id", (object?)a.DeploymentId ?? DBNull.Value);
            command.Parameters.AddWithValue("$status_code", a.StatusCode);
            command.Parameters.AddWithValue("$error_class", (object?)a.ErrorClass ?? DBNull.Value);
            command.Parameters.AddWithValue("$started_at", SqliteValues.Time(a.StartedAt));
            command.Parameters.AddWithValue("$latency_ms", a.LatencyMs);
            command.Parameters.AddWithValue("$key_hash", (object?)a.Caller?.KeyHash ?? DBNull.Value);
            command.Parameters.AddWithValue("$user_id", (object?)a.Caller?.UserId ?? DBNull.Value);
            command.Parameters.AddWithValue("$team_id", (object?)a.Caller?.TeamId ?? DBNull.Value);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<RequestHistoryFound?> FindAsync(Guid requestId, CancellationToken cancellationToken)
    {
        await database.WhenMigrated(cancellationToken).WaitAsync(SchemaWait, cancellationToken);
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {RequestAttemptRows.Columns}
            FROM broker_request_attempts WHERE request_id = $request ORDER BY started_at, attempt
            """;
        command.Parameters.AddWithValue("$request", requestId.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await RequestAttemptRows.ReadAsync(reader, requestId, (r, i) => SqliteValues.ParseTime(r.GetString(i)), cancellationToken);
    }
}
