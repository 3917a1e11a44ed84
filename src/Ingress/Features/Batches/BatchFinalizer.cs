using System.Text;
using Broker.Ingress.Features.Files;
using Microsoft.Extensions.Logging;
using Broker.ServiceDefaults.Database;
using Npgsql;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Finishes a batch whose lines all have an outcome: <c>finalizing</c>, then, in one transaction holding the batch's
/// row lock, writes the output file (successful lines, in input order) and the error file (failed, expired and
/// cancelled lines) and sets the final status (completed, expired or cancelled) with the request counts. A process
/// that dies meanwhile rolls back; another one finalizes the batch again.
/// </summary>
public sealed class BatchFinalizer(BatchStore store, BrokerDatabase database, TimeProvider timeProvider, ILogger<BatchFinalizer> logger)
{
    public async Task FinalizeAsync(string batchId, CancellationToken cancellationToken)
    {
        if (database.Kind == DatabaseKind.Sqlite)
        {
            await FinalizeSqliteAsync(batchId, cancellationToken);
            return;
        }

        var dataSource = store.DataSource;
        await using (var mark = dataSource.CreateCommand(
            "UPDATE broker_batches SET status = 'finalizing', finalizing_at = $2 WHERE id = $1 AND status IN ('in_progress', 'cancelling') " +
            "AND NOT EXISTS (SELECT 1 FROM broker_batch_lines l WHERE l.batch_id = $1 AND l.status IN ('pending', 'in_flight'))"))
        {
            mark.Parameters.Add(new() { Value = batchId });
            mark.Parameters.Add(new() { Value = timeProvider.GetUtcNow() });
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string owner;
        bool cancelled;
        string endpoint;
        await using (var select = new NpgsqlCommand(
            "SELECT owner, cancelling_at IS NOT NULL, endpoint FROM broker_batches WHERE id = $1 AND status = 'finalizing' FOR UPDATE SKIP LOCKED", connection, transaction))
        {
            select.Parameters.Add(new() { Value = batchId });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return;
            }

            (owner, cancelled, endpoint) = (reader.GetString(0), reader.GetBoolean(1), reader.GetString(2));
        }

        var anthropic = endpoint == BatchEndpoints.Messages;
        var output = PostgresFile(connection, transaction, owner, $"{batchId}_output.jsonl");
        var errors = PostgresFile(connection, transaction, owner, $"{batchId}_error.jsonl");
        int total, completed, failed, expired;
        await using (var lines = dataSource.CreateCommand("SELECT custom_id, status, result FROM broker_batch_lines WHERE batch_id = $1 ORDER BY line_no"))
        {
            lines.Parameters.Add(new() { Value = batchId });
            await using var reader = await lines.ExecuteReaderAsync(cancellationToken);
            (total, completed, failed, expired) = await WriteResultsAsync(reader, anthropic, output, errors, cancellationToken);
        }

        var outputId = await output.CompleteAsync(cancellationToken);
        var errorId = await errors.CompleteAsync(cancellationToken);
        var final = cancelled ? "cancelled" : expired > 0 ? "expired" : "completed";
        await using (var update = new NpgsqlCommand(
            $"UPDATE broker_batches SET status = $2, {final}_at = $3, total = $4, completed = $5, failed = $6, output_file_id = $7, error_file_id = $8 WHERE id = $1",
            connection, transaction))
        {
            update.Parameters.Add(new() { Value = batchId });
            update.Parameters.Add(new() { Value = final });
            update.Parameters.Add(new() { Value = timeProvider.GetUtcNow() });
            update.Parameters.Add(new() { Value = total });
            update.Parameters.Add(new() { Value = completed });
            update.Parameters.Add(new() { Value = failed + expired });
            update.Parameters.Add(new() { Value = (object?)outputId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            update.Parameters.Add(new() { Value = (object?)errorId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        Log.BatchFinished(logger, batchId, final, completed, failed + expired);
    }

    /// <summary>
    /// The same on the embedded SQLite file: one write transaction (<c>BEGIN IMMEDIATE</c>: no other writer between the
    /// check and the final status, which is what PostgreSQL's row lock gives) writes both files and the final status.
    /// </summary>
    private async Task FinalizeSqliteAsync(string batchId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        var now = SqliteValues.Time(timeProvider.GetUtcNow());
        await using (var mark = SqliteBatchStore.Command(connection, null,
            "UPDATE broker_batches SET status = 'finalizing', finalizing_at = $p1 WHERE id = $p0 AND status IN ('in_progress', 'cancelling') " +
            "AND NOT EXISTS (SELECT 1 FROM broker_batch_lines l WHERE l.batch_id = $p0 AND l.status IN ('pending', 'in_flight'))", batchId, now))
        {
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var transaction = connection.BeginTransaction(deferred: false);
        string owner;
        bool cancelled;
        string endpoint;
        await using (var select = SqliteBatchStore.Command(connection, transaction,
            "SELECT owner, cancelling_at IS NOT NULL, endpoint FROM broker_batches WHERE id = $p0 AND status = 'finalizing'", batchId))
        {
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return;
            }

            (owner, cancelled, endpoint) = (reader.GetString(0), reader.GetInt64(1) != 0, reader.GetString(2));
        }

        LazyFile SqliteFile(string filename) => new(owner, filename, timeProvider,
            (file, ct) => SqliteFileStore.InsertAsync(connection, transaction, file, ct),
            id => new FileChunkWriter((chunkNo, data, ct) => SqliteFileStore.InsertChunkAsync(connection, transaction, id, chunkNo, data, ct)),
            (id, bytes, ct) => SqliteFileStore.SetBytesAsync(connection, transaction, id, bytes, ct));
        var output = SqliteFile($"{batchId}_output.jsonl");
        var errors = SqliteFile($"{batchId}_error.jsonl");
        int total, completed, failed, expired;
        await using (var lines = SqliteBatchStore.Command(connection, transaction,
            "SELECT custom_id, status, result FROM broker_batch_lines WHERE batch_id = $p0 ORDER BY line_no", batchId))
        {
            await using var reader = await lines.ExecuteReaderAsync(cancellationToken);
            (total, completed, failed, expired) = await WriteResultsAsync(reader, endpoint == BatchEndpoints.Messages, output, errors, cancellationToken);
        }

        var outputId = await output.CompleteAsync(cancellationToken);
        var errorId = await errors.CompleteAsync(cancellationToken);
        var final = cancelled ? "cancelled" : expired > 0 ? "expired" : "completed";
        await using (var update = SqliteBatchStore.Command(connection, transaction,
            $"UPDATE broker_batches SET status = $p1, {final}_at = $p2, total = $p3, completed = $p4, failed = $p5, output_file_id = $p6, error_file_id = $p7 WHERE id = $p0",
            batchId, final, SqliteValues.Time(timeProvider.GetUtcNow()), total, completed, failed + expired, outputId, errorId))
        {
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        Log.BatchFinished(logger, batchId, final, completed, failed + expired);
    }

    /// <summary>Writes each line's outcome, in input order, to the output or the error file; returns the counts.</summary>
    private static async Task<(int Total, int Completed, int Failed, int Expired)> WriteResultsAsync(
        System.Data.Common.DbDataReader reader, bool anthropic, LazyFile output, LazyFile errors, CancellationToken cancellationToken)
    {
        int total = 0, completed = 0, failed = 0, expired = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            total++;
            var customId = reader.GetString(0);
            var status = reader.GetString(1);
            var result = reader.IsDBNull(2) ? null : reader.GetString(2);
            switch (status)
            {
                case BatchLineStatus.Done:
                    completed++;
                    await output.AppendLineAsync(result!, cancellationToken);
                    break;
                case BatchLineStatus.Failed:
                    failed++;
                    await errors.AppendLineAsync(result!, cancellationToken);
                    break;
                case BatchLineStatus.Expired:
                    expired++;
                    await errors.AppendLineAsync(anthropic
                        ? BatchLineRunner.NotRunAnthropic(customId, "expired")
                        : BatchLineRunner.NotRun(customId, "batch_expired", "This request could not be executed before the completion window expired."),
                        cancellationToken);
                    break;
                default:
                    await errors.AppendLineAsync(anthropic
                        ? BatchLineRunner.NotRunAnthropic(customId, "canceled")
                        : BatchLineRunner.NotRun(customId, "batch_cancelled", "This request was not executed because the batch was cancelled."),
                        cancellationToken);
                    break;
            }
        }

        return (total, completed, failed, expired);
    }

    private LazyFile PostgresFile(NpgsqlConnection connection, NpgsqlTransaction transaction, string owner, string filename) => new(owner, filename, timeProvider,
        (file, ct) => FileStore.InsertAsync(connection, transaction, file, ct),
        id => FileChunkWriter.Postgres(connection, transaction, id),
        (id, bytes, ct) => FileStore.SetBytesAsync(connection, transaction, id, bytes, ct));

    /// <summary>A batch_output file created on its first line, inside the finalizing transaction.</summary>
    private sealed class LazyFile(
        string owner, string filename, TimeProvider timeProvider, Func<StoredFile, CancellationToken, Task> insertFile,
        Func<string, FileChunkWriter> chunkWriter, Func<string, long, CancellationToken, Task> setBytes)
    {
        private static readonly byte[] NewLine = "\n"u8.ToArray();
        private FileChunkWriter? _writer;
        private string? _id;

        public async Task AppendLineAsync(string line, CancellationToken cancellationToken)
        {
            if (_writer is null)
            {
                _id = "file-" + Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("N");
                await insertFile(new StoredFile(_id, owner, "batch_output", filename, 0, timeProvider.GetUtcNow(), "processed"), cancellationToken);
                _writer = chunkWriter(_id);
            }

            await _writer.WriteAsync(Encoding.UTF8.GetBytes(line), cancellationToken);
            await _writer.WriteAsync(NewLine, cancellationToken);
        }

        public async Task<string?> CompleteAsync(CancellationToken cancellationToken)
        {
            if (_writer is null)
            {
                return null;
            }

            await _writer.FlushAsync(cancellationToken);
            await setBytes(_id!, _writer.Bytes, cancellationToken);
            return _id;
        }
    }
}
