using Npgsql;

namespace Broker.Workers.Retries;

/// <summary>
/// <see cref="RetrySagaStore"/>'s rows in PostgreSQL (<c>broker_retry_sagas</c>, <c>broker_retry_attempts</c>, migration
/// 0501): the same rules as its Redis scripts, each one statement, so two processes never both win. Times come from the
/// caller's clock; a row past <c>expires_at</c> counts as absent and is swept by <see cref="SweepAsync"/>.
/// </summary>
internal sealed class PostgresRetrySagaRows(NpgsqlDataSource dataSource)
{
    /// <summary>The stored version and JSON of a live instance, or null.</summary>
    public async Task<(int Version, string Json)?> LoadAsync(Guid id, DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT version, state FROM broker_retry_sagas WHERE request_id = $1 AND expires_at > $2");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? (reader.GetInt32(0), reader.GetString(1)) : null;
    }

    /// <summary>Inserts an instance (replacing an expired one); false when a live one has that id.</summary>
    public async Task<bool> InsertAsync(Guid id, int version, string json, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO broker_retry_sagas (request_id, version, state, expires_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (request_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, expires_at = EXCLUDED.expires_at
            WHERE broker_retry_sagas.expires_at <= $5
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(version);
        command.Parameters.AddWithValue(json);
        command.Parameters.AddWithValue(expiresAt);
        command.Parameters.AddWithValue(now);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }

    /// <summary>Writes a new version if the stored one is still <paramref name="expected"/>: 1 written, 0 changed by another, -1 gone.</summary>
    public async Task<int> UpdateAsync(Guid id, int expected, int version, string json, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand("""
            WITH updated AS (
                UPDATE broker_retry_sagas SET version = $3, state = $4, expires_at = $5
                WHERE request_id = $1 AND version = $2 AND expires_at > $6
                RETURNING 1)
            SELECT CASE WHEN EXISTS (SELECT 1 FROM updated) THEN 1
                        WHEN EXISTS (SELECT 1 FROM broker_retry_sagas WHERE request_id = $1 AND expires_at > $6) THEN 0
                        ELSE -1 END
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(expected);
        command.Parameters.AddWithValue(version);
        command.Parameters.AddWithValue(json);
        command.Parameters.AddWithValue(expiresAt);
        command.Parameters.AddWithValue(now);
        return Convert.ToInt32(await command.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task DeleteAsync(Guid id)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM broker_retry_sagas WHERE request_id = $1");
        command.Parameters.AddWithValue(id);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the ticket for <paramref name="owner"/> when nobody holds it (or it expired), and returns what it holds now
    /// (the row is locked and read at its latest version, so of two takers exactly one sees its own name).
    /// </summary>
    public async Task<string> TakeAsync(Guid id, int attempt, string owner, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO broker_retry_attempts (request_id, attempt, ticket, expires_at) VALUES ($1, $2, 'run:' || $3, $4)
            ON CONFLICT (request_id, attempt) DO UPDATE SET
                ticket = CASE WHEN broker_retry_attempts.expires_at <= $5 THEN EXCLUDED.ticket ELSE broker_retry_attempts.ticket END,
                expires_at = CASE WHEN broker_retry_attempts.expires_at <= $5 THEN EXCLUDED.expires_at ELSE broker_retry_attempts.expires_at END
            RETURNING ticket
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(attempt);
        command.Parameters.AddWithValue(owner);
        command.Parameters.AddWithValue(expiresAt);
        command.Parameters.AddWithValue(now);
        return (string)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    /// <summary>Marks the ticket answered when <paramref name="owner"/> holds it (running or answered); false otherwise.</summary>
    public async Task<bool> CommitAsync(Guid id, int attempt, string owner, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE broker_retry_attempts SET ticket = 'won:' || $3, expires_at = $4
            WHERE request_id = $1 AND attempt = $2 AND expires_at > $5 AND ticket IN ('run:' || $3, 'won:' || $3)
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(attempt);
        command.Parameters.AddWithValue(owner);
        command.Parameters.AddWithValue(expiresAt);
        command.Parameters.AddWithValue(now);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }

    /// <summary>Gives the ticket up (<paramref name="abandoned"/>) unless it was answered; false when it was.</summary>
    public async Task<bool> AbandonAsync(Guid id, int attempt, string abandoned, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO broker_retry_attempts (request_id, attempt, ticket, expires_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (request_id, attempt) DO UPDATE SET ticket = EXCLUDED.ticket, expires_at = EXCLUDED.expires_at
            WHERE broker_retry_attempts.ticket NOT LIKE 'won:%' OR broker_retry_attempts.expires_at <= $5
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(attempt);
        command.Parameters.AddWithValue(abandoned);
        command.Parameters.AddWithValue(expiresAt);
        command.Parameters.AddWithValue(now);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }

    /// <summary>Deletes expired instances and tickets.</summary>
    public async Task SweepAsync(DateTimeOffset now)
    {
        foreach (var table in (string[])["broker_retry_sagas", "broker_retry_attempts"])
        {
            await using var command = dataSource.CreateCommand($"DELETE FROM {table} WHERE expires_at <= $1");
            command.Parameters.AddWithValue(now);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }
}
