using System.Data.Common;
using Broker.ServiceDefaults.Database;
using Microsoft.Data.Sqlite;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// <see cref="BatchStore"/>'s behaviour on the embedded SQLite file. SQLite has one writer at a time and the file
/// belongs to one process, so where PostgreSQL locks rows (<c>FOR UPDATE SKIP LOCKED</c>) a lease here is taken
/// inside one <c>BEGIN IMMEDIATE</c> transaction (select the pending lines, then mark them in_flight): no other
/// writer can take the same lines in between. Times are fixed-width UTC text, so they compare as times.
/// </summary>
public sealed class SqliteBatchStore(BrokerDatabase database, TimeProvider timeProvider) : IBatchStore
{
    private const string Columns =
        "id, owner, endpoint, input_file_id, completion_window, status, created_at, expires_at, in_progress_at, finalizing_at, " +
        "completed_at, failed_at, expired_at, cancelling_at, cancelled_at, total, completed, failed, metadata, output_file_id, " +
        "error_file_id, errors";

    public bool IsConfigured => true;

    public string NewId() => "batch_" + Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("N");

    public async Task InsertAsync(BatchRecord batch, string? caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await ExecuteAsync(
            "INSERT INTO broker_batches (id, owner, caller, endpoint, input_file_id, completion_window, status, created_at, expires_at, metadata) " +
            "VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9)", cancellationToken,
            batch.Id, batch.Owner, PgText.CleanJson(caller), batch.Endpoint, batch.InputFileId, batch.CompletionWindow, batch.Status,
            SqliteValues.Time(batch.CreatedAt), SqliteValues.Time(batch.ExpiresAt), PgText.CleanJson(batch.Metadata));
    }

    public async Task<BatchRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        var batch = (await QueryAsync($"SELECT {Columns} FROM broker_batches WHERE id = $p0 AND owner = $p1", Read, cancellationToken, id, owner)) is [var b, ..] ? b : null;
        return batch is null ? null : await WithCountsAsync(batch, cancellationToken);
    }

    public async Task<IReadOnlyList<BatchRecord>> ListAsync(string owner, string? after, int limit, CancellationToken cancellationToken, string? endpoint = null)
    {
        var batches = (await QueryAsync(
            $"SELECT {Columns} FROM broker_batches WHERE owner = $p0 AND ($p3 IS NULL OR endpoint = $p3) " +
            "AND ($p1 IS NULL OR (created_at, id) < (SELECT created_at, id FROM broker_batches WHERE id = $p1 AND owner = $p0)) " +
            "ORDER BY created_at DESC, id DESC LIMIT $p2", Read, cancellationToken, owner, after, limit, endpoint)).ToList();
        for (var i = 0; i < batches.Count; i++)
        {
            batches[i] = await WithCountsAsync(batches[i], cancellationToken);
        }

        return batches;
    }

    public async Task<BatchRecord?> CancelAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await ExecuteAsync(
            "UPDATE broker_batches SET status = 'cancelling', cancelling_at = $p2 WHERE id = $p0 AND owner = $p1 AND status IN ('validating', 'in_progress')",
            cancellationToken, id, owner, SqliteValues.Time(timeProvider.GetUtcNow()));
        return await GetAsync(owner, id, cancellationToken);
    }

    public async Task<IReadOnlyList<ClaimedLine>> ClaimAsync(string modelGroup, int limit, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var picked = new List<ClaimedLine>();
        await using (var select = Command(connection, transaction,
            """
            SELECT l.batch_id, l.line_no, l.custom_id, l.model_group, l.requested_model, l.body, b.endpoint, b.caller, l.attempts
            FROM broker_batch_lines l JOIN broker_batches b ON b.id = l.batch_id
            WHERE l.model_group = $p0 AND l.status = 'pending' AND b.status = 'in_progress' AND b.expires_at > $p2
            ORDER BY l.batch_id, l.line_no
            LIMIT $p1
            """, modelGroup, limit, SqliteValues.Time(timeProvider.GetUtcNow())))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                picked.Add(new ClaimedLine(reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.GetString(5), Guid.NewGuid(), reader.GetString(6), SqliteValues.Text(reader, 7), reader.GetInt32(8) + 1));
            }
        }

        var until = SqliteValues.Time(leaseUntil);
        foreach (var line in picked)
        {
            await using var lease = Command(connection, transaction,
                "UPDATE broker_batch_lines SET status = 'in_flight', attempts = attempts + 1, lease_until = $p2, request_id = $p3 WHERE batch_id = $p0 AND line_no = $p1",
                line.BatchId, line.LineNo, until, line.RequestId.ToString());
            await lease.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return picked;
    }

    public async Task<int> RecordManyAsync(IReadOnlyList<LineResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var now = SqliteValues.Time(timeProvider.GetUtcNow());
        var counted = 0;
        foreach (var result in results)
        {
            await using var record = Command(connection, transaction,
                "UPDATE broker_batch_lines SET status = $p2, result = $p3, finished_at = $p4, lease_until = NULL " +
                "WHERE batch_id = $p0 AND line_no = $p1 AND status IN ('pending', 'in_flight')",
                result.BatchId, result.LineNo, result.Status, result.Result, now);
            counted += await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return counted;
    }

    public async Task ReleaseAsync(IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        if (requestIds.Count == 0)
        {
            return;
        }

        var ids = requestIds.Select(id => (object?)id.ToString()).ToArray();
        await ExecuteAsync(
            $"UPDATE broker_batch_lines SET status = 'pending', lease_until = NULL WHERE status = 'in_flight' AND request_id IN ({string.Join(", ", ids.Select((_, i) => $"$p{i}"))})",
            cancellationToken, ids);
    }

    public async Task<IReadOnlyList<string>> SweepAsync(CancellationToken cancellationToken)
    {
        var now = SqliteValues.Time(timeProvider.GetUtcNow());
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            foreach (var sql in new[]
            {
                "UPDATE broker_batch_lines SET status = 'pending', lease_until = NULL WHERE status = 'in_flight' AND lease_until < $p0",
                "UPDATE broker_batch_lines SET status = 'cancelled', finished_at = $p0 " +
                    "WHERE batch_id IN (SELECT id FROM broker_batches WHERE status = 'cancelling') AND status = 'pending'",
                "UPDATE broker_batch_lines SET status = 'expired', finished_at = $p0 " +
                    "WHERE batch_id IN (SELECT id FROM broker_batches WHERE status = 'in_progress' AND expires_at <= $p0) AND status = 'pending'",
            })
            {
                await using var command = Command(connection, transaction, sql, now);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        var ready = new List<string>();
        await using var select = Command(connection, null,
            "SELECT b.id FROM broker_batches b WHERE b.status IN ('in_progress', 'cancelling', 'finalizing') " +
            "AND NOT EXISTS (SELECT 1 FROM broker_batch_lines l WHERE l.batch_id = b.id AND l.status IN ('pending', 'in_flight')) ORDER BY b.created_at");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ready.Add(reader.GetString(0));
        }

        return ready;
    }

    public async Task<IReadOnlyDictionary<string, int>> CountByStatusAsync(string batchId, CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT status, count(*) FROM broker_batch_lines WHERE batch_id = $p0 GROUP BY status",
            r => (r.GetString(0), r.GetInt32(1)), cancellationToken, batchId))
            .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);

    private async Task<BatchRecord> WithCountsAsync(BatchRecord batch, CancellationToken cancellationToken)
    {
        if (batch.Status is not ("in_progress" or "cancelling" or "finalizing"))
        {
            return batch;
        }

        var (total, completed, failed) = (await QueryAsync(
            "SELECT count(*), coalesce(sum(status = 'done'), 0), coalesce(sum(status IN ('failed', 'expired')), 0) FROM broker_batch_lines WHERE batch_id = $p0",
            r => (r.GetInt32(0), r.GetInt32(1), r.GetInt32(2)), cancellationToken, batch.Id))[0];
        return batch with { Total = total, Completed = completed, Failed = failed };
    }

    /// <summary>A batch row of <see cref="Columns"/>.</summary>
    public static BatchRecord Read(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new BatchRecord
        {
            Id = reader.GetString(0),
            Owner = reader.GetString(1),
            Endpoint = reader.GetString(2),
            InputFileId = reader.GetString(3),
            CompletionWindow = reader.GetString(4),
            Status = reader.GetString(5),
            CreatedAt = SqliteValues.ParseTime(reader.GetString(6)),
            ExpiresAt = SqliteValues.ParseTime(reader.GetString(7)),
            InProgressAt = SqliteValues.Time(reader, 8),
            FinalizingAt = SqliteValues.Time(reader, 9),
            CompletedAt = SqliteValues.Time(reader, 10),
            FailedAt = SqliteValues.Time(reader, 11),
            ExpiredAt = SqliteValues.Time(reader, 12),
            CancellingAt = SqliteValues.Time(reader, 13),
            CancelledAt = SqliteValues.Time(reader, 14),
            Total = reader.GetInt32(15),
            Completed = reader.GetInt32(16),
            Failed = reader.GetInt32(17),
            Metadata = SqliteValues.Text(reader, 18),
            OutputFileId = SqliteValues.Text(reader, 19),
            ErrorFileId = SqliteValues.Text(reader, 20),
            Errors = SqliteValues.Text(reader, 21),
        };
    }

    /// <summary>A command with positional values bound as <c>$p0</c>, <c>$p1</c>...</summary>
    public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params object?[] values)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(values);
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters.AddWithValue($"$p{i}", values[i] ?? DBNull.Value);
        }

        return command;
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = Command(connection, null, sql, values);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params object?[] values)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = Command(connection, null, sql, values);
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
