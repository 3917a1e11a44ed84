using Broker.ServiceDefaults.Database;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Batches and their lines in PostgreSQL (broker_batches, broker_batch_lines). Every state change is one
/// conditional statement, so several Ingress processes can share the work and a crash loses nothing: a line is
/// leased (in_flight until lease_until) and its result is recorded once, by the first answer that arrives.
/// </summary>
public sealed class BatchStore(BrokerDatabase database, TimeProvider timeProvider) : IBatchStore
{
    private const string Columns =
        "id, owner, endpoint, input_file_id, completion_window, status, created_at, expires_at, in_progress_at, finalizing_at, " +
        "completed_at, failed_at, expired_at, cancelling_at, cancelled_at, total, completed, failed, metadata::text, output_file_id, " +
        "error_file_id, errors::text";

    public bool IsConfigured => database.IsConfigured;

    public NpgsqlDataSource DataSource => database.DataSource;

    public string NewId() => "batch_" + Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("N");

    public async Task InsertAsync(BatchRecord batch, string? caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await using var command = database.DataSource.CreateCommand(
            "INSERT INTO broker_batches (id, owner, caller, endpoint, input_file_id, completion_window, status, created_at, expires_at, metadata) " +
            "VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10::jsonb)");
        command.Parameters.Add(new() { Value = batch.Id });
        command.Parameters.Add(new() { Value = batch.Owner });
        command.Parameters.Add(new() { Value = (object?)PgText.CleanJson(caller) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = batch.Endpoint });
        command.Parameters.Add(new() { Value = batch.InputFileId });
        command.Parameters.Add(new() { Value = batch.CompletionWindow });
        command.Parameters.Add(new() { Value = batch.Status });
        command.Parameters.Add(new() { Value = batch.CreatedAt });
        command.Parameters.Add(new() { Value = batch.ExpiresAt });
        command.Parameters.Add(new() { Value = (object?)PgText.CleanJson(batch.Metadata) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The owner's batch with its live request counts, or null.</summary>
    public async Task<BatchRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM broker_batches WHERE id = $1 AND owner = $2");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = owner });
        BatchRecord? batch;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            batch = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }

        return batch is null ? null : await WithCountsAsync(batch, cancellationToken);
    }

    public async Task<IReadOnlyList<BatchRecord>> ListAsync(
        string owner, string? after, int limit, CancellationToken cancellationToken, string? endpoint = null)
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT {Columns} FROM broker_batches WHERE owner = $1 AND ($4::text IS NULL OR endpoint = $4) " +
            "AND ($2::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM broker_batches WHERE id = $2 AND owner = $1)) " +
            "ORDER BY created_at DESC, id DESC LIMIT $3");
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = limit });
        command.Parameters.Add(new() { Value = (object?)endpoint ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var batches = new List<BatchRecord>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                batches.Add(Read(reader));
            }
        }

        for (var i = 0; i < batches.Count; i++)
        {
            batches[i] = await WithCountsAsync(batches[i], cancellationToken);
        }

        return batches;
    }

    /// <summary>
    /// Moves the owner's validating or in-progress batch to cancelling (no new line starts; in-flight lines finish).
    /// Returns the batch afterwards, or null when the owner has no such batch.
    /// </summary>
    public async Task<BatchRecord?> CancelAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand(
            "UPDATE broker_batches SET status = 'cancelling', cancelling_at = $3 WHERE id = $1 AND owner = $2 AND status IN ('validating', 'in_progress')");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = timeProvider.GetUtcNow() });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return await GetAsync(owner, id, cancellationToken);
    }

    /// <summary>
    /// Leases up to <paramref name="limit"/> pending lines of <paramref name="modelGroup"/> from in-progress batches
    /// (oldest batch first), skipping lines another process is leasing at this moment.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedLine>> ClaimAsync(string modelGroup, int limit, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            WITH c AS (
                SELECT l.batch_id, l.line_no FROM broker_batch_lines l
                WHERE l.model_group = $1 AND l.status = 'pending'
                  AND EXISTS (SELECT 1 FROM broker_batches b WHERE b.id = l.batch_id AND b.status = 'in_progress' AND b.expires_at > $4)
                ORDER BY l.batch_id, l.line_no
                LIMIT $2
                FOR UPDATE OF l SKIP LOCKED)
            UPDATE broker_batch_lines l
            SET status = 'in_flight', attempts = l.attempts + 1, lease_until = $3, request_id = gen_random_uuid()
            FROM c, broker_batches b
            WHERE l.batch_id = c.batch_id AND l.line_no = c.line_no AND b.id = l.batch_id
            RETURNING l.batch_id, l.line_no, l.custom_id, l.model_group, l.requested_model, l.body, l.request_id, b.endpoint, b.caller::text, l.attempts
            """);
        command.Parameters.Add(new() { Value = modelGroup });
        command.Parameters.Add(new() { Value = limit });
        command.Parameters.Add(new() { Value = leaseUntil });
        command.Parameters.Add(new() { Value = timeProvider.GetUtcNow() });
        var lines = new List<ClaimedLine>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(new ClaimedLine(
                reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                reader.GetGuid(6), reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8), reader.GetInt32(9)));
        }

        return lines;
    }

    /// <summary>Records several lines' results in one statement, each unless it already has one; returns how many counted.</summary>
    public async Task<int> RecordManyAsync(IReadOnlyList<LineResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        await using var command = database.DataSource.CreateCommand(
            "UPDATE broker_batch_lines l SET status = r.status, result = r.result, finished_at = $5, lease_until = NULL " +
            "FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS r(batch_id, line_no, status, result) " +
            "WHERE l.batch_id = r.batch_id AND l.line_no = r.line_no AND l.status IN ('pending', 'in_flight')");
        command.Parameters.Add(new() { Value = results.Select(r => r.BatchId).ToArray() });
        command.Parameters.Add(new() { Value = results.Select(r => r.LineNo).ToArray() });
        command.Parameters.Add(new() { Value = results.Select(r => r.Status).ToArray() });
        command.Parameters.Add(new() { Value = results.Select(r => r.Result).ToArray() });
        command.Parameters.Add(new() { Value = timeProvider.GetUtcNow() });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Gives leased lines back (this process stops): they are pending again for any process.</summary>
    public async Task ReleaseAsync(IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken)
    {
        if (requestIds.Count == 0)
        {
            return;
        }

        await using var command = database.DataSource.CreateCommand(
            "UPDATE broker_batch_lines SET status = 'pending', lease_until = NULL WHERE status = 'in_flight' AND request_id = ANY($1)");
        command.Parameters.Add(new() { Value = requestIds.ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Periodic upkeep: lines whose lease ran out (their process died) are pending again; pending lines of
    /// cancelling batches are cancelled, those of batches past their completion window expired. Returns the
    /// batches with no open line left, ready to finalize.
    /// </summary>
    public async Task<IReadOnlyList<string>> SweepAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await using var batch = database.DataSource.CreateBatch();
        batch.BatchCommands.Add(Command(
            "UPDATE broker_batch_lines SET status = 'pending', lease_until = NULL WHERE status = 'in_flight' AND lease_until < $1", now));
        batch.BatchCommands.Add(Command(
            "UPDATE broker_batch_lines SET status = 'cancelled', finished_at = $1 " +
            "WHERE batch_id IN (SELECT id FROM broker_batches WHERE status = 'cancelling') AND status = 'pending'", now));
        batch.BatchCommands.Add(Command(
            "UPDATE broker_batch_lines SET status = 'expired', finished_at = $1 " +
            "WHERE batch_id IN (SELECT id FROM broker_batches WHERE status = 'in_progress' AND expires_at <= $1) AND status = 'pending'", now));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "SELECT b.id FROM broker_batches b WHERE b.status IN ('in_progress', 'cancelling', 'finalizing') " +
            "AND NOT EXISTS (SELECT 1 FROM broker_batch_lines l WHERE l.batch_id = b.id AND l.status IN ('pending', 'in_flight')) ORDER BY b.created_at"));
        var ready = new List<string>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ready.Add(reader.GetString(0));
        }

        return ready;
    }

    private static NpgsqlBatchCommand Command(string sql, DateTimeOffset now)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new() { Value = now });
        return command;
    }

    /// <summary>How many of the batch's lines are in each status.</summary>
    public async Task<IReadOnlyDictionary<string, int>> CountByStatusAsync(string batchId, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("SELECT status, count(*)::int FROM broker_batch_lines WHERE batch_id = $1 GROUP BY status");
        command.Parameters.Add(new() { Value = batchId });
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    private async Task<BatchRecord> WithCountsAsync(BatchRecord batch, CancellationToken cancellationToken)
    {
        if (batch.Status is not ("in_progress" or "cancelling" or "finalizing"))
        {
            return batch;
        }

        await using var command = database.DataSource.CreateCommand(
            "SELECT count(*)::int, (count(*) FILTER (WHERE status = 'done'))::int, (count(*) FILTER (WHERE status IN ('failed', 'expired')))::int " +
            "FROM broker_batch_lines WHERE batch_id = $1");
        command.Parameters.Add(new() { Value = batch.Id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return batch with { Total = reader.GetInt32(0), Completed = reader.GetInt32(1), Failed = reader.GetInt32(2) };
    }

    public static BatchRecord Read(NpgsqlDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        return new BatchRecord
        {
            Id = reader.GetString(0),
            Owner = reader.GetString(1),
            Endpoint = reader.GetString(2),
            InputFileId = reader.GetString(3),
            CompletionWindow = reader.GetString(4),
            Status = reader.GetString(5),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(6),
            ExpiresAt = reader.GetFieldValue<DateTimeOffset>(7),
            InProgressAt = At(8),
            FinalizingAt = At(9),
            CompletedAt = At(10),
            FailedAt = At(11),
            ExpiredAt = At(12),
            CancellingAt = At(13),
            CancelledAt = At(14),
            Total = reader.GetInt32(15),
            Completed = reader.GetInt32(16),
            Failed = reader.GetInt32(17),
            Metadata = Text(18),
            OutputFileId = Text(19),
            ErrorFileId = Text(20),
            Errors = Text(21),
        };
    }

    public const string SelectColumns = Columns;
}
