using System.Text;
using Broker.Ingress.Features.Files;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Finishes a batch whose lines all have an outcome: <c>finalizing</c>, then, in one transaction holding the batch's
/// row lock, writes the output file (successful lines, in input order) and the error file (failed, expired and
/// cancelled lines) and sets the final status (completed, expired or cancelled) with the request counts. A process
/// that dies meanwhile rolls back; another one finalizes the batch again.
/// </summary>
public sealed class BatchFinalizer(BatchStore store, TimeProvider timeProvider, ILogger<BatchFinalizer> logger)
{
    public async Task FinalizeAsync(string batchId, CancellationToken cancellationToken)
    {
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
        var output = new LazyFile(connection, transaction, owner, $"{batchId}_output.jsonl", timeProvider);
        var errors = new LazyFile(connection, transaction, owner, $"{batchId}_error.jsonl", timeProvider);
        int total = 0, completed = 0, failed = 0, expired = 0;
        await using (var lines = dataSource.CreateCommand("SELECT custom_id, status, result FROM broker_batch_lines WHERE batch_id = $1 ORDER BY line_no"))
        {
            lines.Parameters.Add(new() { Value = batchId });
            await using var reader = await lines.ExecuteReaderAsync(cancellationToken);
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

    /// <summary>A batch_output file created on its first line, inside the finalizing transaction.</summary>
    private sealed class LazyFile(NpgsqlConnection connection, NpgsqlTransaction transaction, string owner, string filename, TimeProvider timeProvider)
    {
        private static readonly byte[] NewLine = "\n"u8.ToArray();
        private FileChunkWriter? _writer;
        private string? _id;

        public async Task AppendLineAsync(string line, CancellationToken cancellationToken)
        {
            if (_writer is null)
            {
                _id = "file-" + Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("N");
                await FileStore.InsertAsync(connection, transaction,
                    new StoredFile(_id, owner, "batch_output", filename, 0, timeProvider.GetUtcNow(), "processed"), cancellationToken);
                _writer = new FileChunkWriter(connection, transaction, _id);
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
            await FileStore.SetBytesAsync(connection, transaction, _id!, _writer.Bytes, cancellationToken);
            return _id;
        }
    }
}
