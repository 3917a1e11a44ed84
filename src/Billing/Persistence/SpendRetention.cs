using Broker.ServiceDefaults.Database;
using Npgsql;

namespace Broker.Billing.Persistence;

/// <summary>
/// maximum_spend_logs_retention_period: deletes spend log rows that ended before a cutoff, at most one chunk per
/// statement (<c>DELETE ... WHERE ctid IN (SELECT ctid ... LIMIT n)</c>), so memory, WAL per transaction and lock
/// time stay bounded however many rows are due. The ids kept for disable_spend_logs and the attempt history
/// (broker_request_attempts) are pruned the same way.
/// </summary>
public sealed class SpendRetention(BrokerDatabase database)
{
    public async Task<(long Deleted, int Chunks)> DeleteOlderThanAsync(DateTimeOffset cutoff, int chunkSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        var (logs, chunks) = await DeleteChunkedAsync(
            "DELETE FROM broker_spend_logs WHERE ctid IN (SELECT ctid FROM broker_spend_logs WHERE end_time < @cutoff LIMIT @chunk)",
            cutoff, chunkSize, cancellationToken);
        var (_, countedChunks) = await DeleteChunkedAsync(
            "DELETE FROM broker_spend_counted WHERE ctid IN (SELECT ctid FROM broker_spend_counted WHERE counted_at < @cutoff LIMIT @chunk)",
            cutoff, chunkSize, cancellationToken);
        // attempts start before their spend row ends: an hour's margin keeps each as long as its row
        var (_, attemptChunks) = await DeleteChunkedAsync(
            "DELETE FROM broker_request_attempts WHERE ctid IN (SELECT ctid FROM broker_request_attempts WHERE started_at < @cutoff - interval '1 hour' LIMIT @chunk)",
            cutoff, chunkSize, cancellationToken);
        return (logs, chunks + countedChunks + attemptChunks);
    }

    private async Task<(long Deleted, int Chunks)> DeleteChunkedAsync(string sql, DateTimeOffset cutoff, int chunkSize, CancellationToken cancellationToken)
    {
        long deleted = 0;
        var chunks = 0;
        while (true)
        {
            await using var command = database.DataSource.CreateCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("cutoff", cutoff));
            command.Parameters.Add(new NpgsqlParameter<int>("chunk", chunkSize));
            var rows = await command.ExecuteNonQueryAsync(cancellationToken);
            if (rows == 0)
            {
                return (deleted, chunks);
            }

            deleted += rows;
            chunks++;
            if (rows < chunkSize)
            {
                return (deleted, chunks);
            }
        }
    }
}
