using Broker.Contracts.History;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Database;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Billing.History;

/// <summary>The attempt history in <c>broker_request_attempts</c> (general_settings.database_url), one row per attempt.</summary>
public sealed class PostgresRequestAttemptStore(BrokerDatabase database) : IRequestAttemptStore
{
    private static readonly TimeSpan SchemaWait = TimeSpan.FromSeconds(10);

    public bool IsConfigured => database.IsConfigured;

    public async Task AddAsync(IReadOnlyList<InferenceAttempted> attempts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        if (attempts.Count == 0)
        {
            return;
        }

        await database.WhenMigrated(cancellationToken).WaitAsync(SchemaWait, cancellationToken);
        await using var command = database.DataSource.CreateCommand("""
            INSERT INTO broker_request_attempts (attempt_id, request_id, attempt, original_model_group, model_group, deployment_id,
                status_code, error_class, started_at, latency_ms, key_hash, user_id, team_id)
            SELECT * FROM unnest(@attempt_id, @request_id, @attempt, @original_model_group, @model_group, @deployment_id,
                @status_code, @error_class, @started_at, @latency_ms, @key_hash, @user_id, @team_id)
            ON CONFLICT (attempt_id) DO NOTHING
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("attempt_id", attempts.Select(a => a.AttemptId).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("request_id", attempts.Select(a => a.RequestId).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("attempt", attempts.Select(a => a.Attempt).ToArray()));
        command.Parameters.Add(Text("original_model_group", attempts.Select(a => PgText.Clean(a.OriginalModelGroup))));
        command.Parameters.Add(Text("model_group", attempts.Select(a => PgText.Clean(a.ModelGroup))));
        command.Parameters.Add(Text("deployment_id", attempts.Select(a => PgText.Clean(a.DeploymentId))));
        command.Parameters.Add(new NpgsqlParameter<int[]>("status_code", attempts.Select(a => a.StatusCode).ToArray()));
        command.Parameters.Add(Text("error_class", attempts.Select(a => PgText.Clean(a.ErrorClass))));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("started_at", attempts.Select(a => a.StartedAt).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<double[]>("latency_ms", attempts.Select(a => a.LatencyMs).ToArray()));
        command.Parameters.Add(Text("key_hash", attempts.Select(a => PgText.Clean(a.Caller?.KeyHash))));
        command.Parameters.Add(Text("user_id", attempts.Select(a => PgText.Clean(a.Caller?.UserId))));
        command.Parameters.Add(Text("team_id", attempts.Select(a => PgText.Clean(a.Caller?.TeamId))));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<RequestHistoryFound?> FindAsync(Guid requestId, CancellationToken cancellationToken)
    {
        await database.WhenMigrated(cancellationToken).WaitAsync(SchemaWait, cancellationToken);
        await using var command = database.DataSource.CreateCommand($"""
            SELECT {RequestAttemptRows.Columns}
            FROM broker_request_attempts WHERE request_id = @request ORDER BY started_at, attempt
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid>("request", requestId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await RequestAttemptRows.ReadAsync(reader, requestId, (r, i) => r.GetFieldValue<DateTimeOffset>(i), cancellationToken);
    }

    private static NpgsqlParameter Text(string name, IEnumerable<string?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() };
}
