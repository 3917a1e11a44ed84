using Broker.ServiceDefaults.Database;
using Npgsql;

namespace Broker.Billing.Persistence;

/// <summary>
/// maximum_spend_logs_retention_period: deletes spend log rows that ended before a cutoff, at most one chunk per
/// statement (PostgreSQL <c>DELETE ... WHERE ctid IN (SELECT ctid ... LIMIT n)</c>, SQLite the same on <c>rowid</c>, each
/// chunk its own short write transaction), so memory, WAL per transaction and lock time stay bounded however many rows
/// are due. The ids kept for disable_spend_logs, the late guardrail decisions (broker_spend_guardrails) and the attempt history
/// (broker_request_attempts) are pruned the same way.
/// </summary>
public sealed class SpendRetention(BrokerDatabase database)
{
    /// <summary>Attempts start before their spend row ends: this margin keeps each as long as its row.</summary>
    private static readonly TimeSpan AttemptMargin = TimeSpan.FromHours(1);

    private static readonly (string Table, string Time)[] Pruned =
    [
        ("broker_spend_logs", "end_time"),
        ("broker_spend_counted", "counted_at"),
        ("broker_spend_guardrails", "decided_at"),
        ("broker_request_attempts", "started_at"),
    ];

    /// <summary>Deletes what is due; returns the spend log rows deleted and the statements (chunks) of every table.</summary>
    public async Task<(long Deleted, int Chunks)> DeleteOlderThanAsync(DateTimeOffset cutoff, int chunkSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        long logs = 0;
        var chunks = 0;
        foreach (var (table, time) in Pruned)
        {
            var before = table == "broker_request_attempts" ? cutoff - AttemptMargin : cutoff;
            var (deleted, statements) = database.Kind == DatabaseKind.Sqlite
                ? await DeleteChunkedSqliteAsync(table, time, before, chunkSize, cancellationToken)
                : await DeleteChunkedAsync(
                    $"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {time} < @cutoff LIMIT @chunk)", before, chunkSize, cancellationToken);
            logs += table == "broker_spend_logs" ? deleted : 0;
            chunks += statements;
        }

        return (logs, chunks);
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

    /// <summary>The SQLite twin: times are fixed-width UTC text, so text order is time order.</summary>
    private async Task<(long Deleted, int Chunks)> DeleteChunkedSqliteAsync(string table, string time, DateTimeOffset cutoff, int chunkSize, CancellationToken cancellationToken)
    {
        long deleted = 0;
        var chunks = 0;
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        while (true)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {time} < $cutoff LIMIT $chunk)";
            command.Parameters.AddWithValue("$cutoff", SqliteValues.Time(cutoff));
            command.Parameters.AddWithValue("$chunk", chunkSize);
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
