using System.Data;
using Broker.ServiceDefaults.Database;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Ingress.Features.Files;

/// <summary>
/// Files in PostgreSQL (broker_files + broker_file_chunks), each scoped to its owner (the creating key's hash, or
/// <c>master</c>): another owner's file does not exist for the caller. Content is written and read as a stream of
/// 1 MiB chunks, never whole in memory.
/// </summary>
public sealed class FileStore(BrokerDatabase database, TimeProvider timeProvider)
{
    /// <summary>Size of one stored chunk.</summary>
    public const int ChunkSize = 1024 * 1024;

    /// <summary>OpenAI's limit for a batch input file.</summary>
    public const long MaxBytes = 200L * 1024 * 1024;

    private const string Columns = "id, owner, purpose, filename, bytes, created_at, status";

    public bool IsConfigured => database.IsConfigured;

    /// <summary>A new file id, time-ordered.</summary>
    public string NewId() => "file-" + Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("N");

    /// <summary>
    /// Stores <paramref name="content"/> as a new file; null when it is longer than <paramref name="maxBytes"/> (nothing is kept).
    /// </summary>
    public async Task<StoredFile?> CreateAsync(string owner, string purpose, string filename, Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var file = new StoredFile(NewId(), owner, purpose, filename, 0, timeProvider.GetUtcNow(), "processed");
        await InsertAsync(connection, transaction, file, cancellationToken);
        var writer = new FileChunkWriter(connection, transaction, file.Id);
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (writer.Bytes + read > maxBytes)
            {
                return null;
            }

            await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        await writer.FlushAsync(cancellationToken);
        file = file with { Bytes = writer.Bytes };
        await SetBytesAsync(connection, transaction, file.Id, file.Bytes, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return file;
    }

    /// <summary>Inserts a file's row (bytes 0) inside the caller's transaction; fill it with a <see cref="FileChunkWriter"/>.</summary>
    public static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StoredFile file, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        await using var insert = new NpgsqlCommand(
            $"INSERT INTO broker_files ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7)", connection, transaction);
        insert.Parameters.Add(new() { Value = file.Id });
        insert.Parameters.Add(new() { Value = file.Owner });
        insert.Parameters.Add(new() { Value = file.Purpose });
        insert.Parameters.Add(new() { Value = PgText.Clean(file.Filename) });
        insert.Parameters.Add(new() { Value = file.Bytes });
        insert.Parameters.Add(new() { Value = file.CreatedAt });
        insert.Parameters.Add(new() { Value = file.Status });
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task SetBytesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string fileId, long bytes, CancellationToken cancellationToken)
    {
        await using var update = new NpgsqlCommand("UPDATE broker_files SET bytes = $2 WHERE id = $1", connection, transaction);
        update.Parameters.Add(new() { Value = fileId });
        update.Parameters.Add(new() { Value = bytes });
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SetPurposeAsync(string id, string purpose, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("UPDATE broker_files SET purpose = $2 WHERE id = $1");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = purpose });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredFile?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM broker_files WHERE id = $1 AND owner = $2");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = owner });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// The owner's files, newest first (<paramref name="ascending"/> for oldest first), after the cursor file id,
    /// at most <paramref name="limit"/> (+1 to tell whether there are more).
    /// </summary>
    public async Task<IReadOnlyList<StoredFile>> ListAsync(
        string owner, string? purpose, string? after, int limit, bool ascending, CancellationToken cancellationToken)
    {
        var order = ascending ? "ASC" : "DESC";
        var cursor = ascending ? ">" : "<";
        await using var command = database.DataSource.CreateCommand(
            $"SELECT {Columns} FROM broker_files WHERE owner = $1 AND ($2::text IS NULL OR purpose = $2) " +
            $"AND ($3::text IS NULL OR (created_at, id) {cursor} (SELECT created_at, id FROM broker_files WHERE id = $3 AND owner = $1)) " +
            $"ORDER BY created_at {order}, id {order} LIMIT $4");
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = (object?)purpose ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = limit });
        var files = new List<StoredFile>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            files.Add(Read(reader));
        }

        return files;
    }

    /// <summary>Deletes the owner's file and its content; false when there is no such file.</summary>
    public async Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("DELETE FROM broker_files WHERE id = $1 AND owner = $2");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = owner });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>Copies a file's content, chunk by chunk, to <paramref name="destination"/>.</summary>
    public async Task CopyContentAsync(string fileId, Stream destination, CancellationToken cancellationToken)
    {
        await using var content = await OpenReadAsync(fileId, cancellationToken);
        await content.CopyToAsync(destination, 64 * 1024, cancellationToken);
    }

    /// <summary>A file's content as a forward-only stream over its chunks (holds one pooled connection until disposed).</summary>
    public async Task<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken)
    {
        var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var command = new NpgsqlCommand("SELECT data FROM broker_file_chunks WHERE file_id = $1 ORDER BY chunk_no", connection);
            command.Parameters.Add(new() { Value = fileId });
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
            return new FileChunkReadStream(connection, command, reader);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static StoredFile Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
        reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6));
}
