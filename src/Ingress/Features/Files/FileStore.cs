using Broker.ServiceDefaults.Database;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Ingress.Features.Files;

/// <summary>
/// Files in PostgreSQL (broker_files + broker_file_chunks), each scoped to its owner (the creating key's hash, or
/// <c>master</c>): another owner's file does not exist for the caller. Content is written and read as a stream of
/// 1 MiB chunks, never whole in memory.
/// </summary>
public sealed class FileStore(BrokerDatabase database, TimeProvider timeProvider) : IFileStore
{
    /// <summary>Size of one stored chunk.</summary>
    public const int ChunkSize = 1024 * 1024;

    /// <summary>OpenAI's limit for a batch input file.</summary>
    public const long MaxBytes = 200L * 1024 * 1024;

    private const string Columns = "id, owner, purpose, filename, bytes, created_at, status";

    /// <summary>The status of a file whose content is still arriving: no route sees it.</summary>
    private const string Uploading = "uploading";

    private const string Processed = "processed";

    public bool IsConfigured => database.IsConfigured;

    /// <summary>A new file id, time-ordered.</summary>
    public string NewId() => "file-" + Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("N");

    /// <summary>
    /// Stores <paramref name="content"/> as a new file; null when it is longer than <paramref name="maxBytes"/> (nothing is kept).
    /// No connection or transaction is held while the content is read (an upload may be slow): the file's row is
    /// written first with status <c>uploading</c> (invisible to get, list and batches), each 1 MiB chunk is read whole
    /// and then inserted with a pooled connection taken for that insert only, and the row turns <c>processed</c> at the
    /// end. A failed or abandoned upload is deleted.
    /// </summary>
    public async Task<StoredFile?> CreateAsync(string owner, string purpose, string filename, Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var file = new StoredFile(NewId(), owner, purpose, filename, 0, timeProvider.GetUtcNow(), Uploading);
        await using (var connection = await database.DataSource.OpenConnectionAsync(cancellationToken))
        {
            await InsertAsync(connection, null, file, cancellationToken);
        }

        var completed = false;
        try
        {
            var buffer = new byte[ChunkSize];
            var bytes = 0L;
            var chunkNo = 0;
            while (true)
            {
                var filled = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
                if (filled == 0)
                {
                    break;
                }

                bytes += filled;
                if (bytes > maxBytes)
                {
                    return null;
                }

                await using var insert = database.DataSource.CreateCommand("INSERT INTO broker_file_chunks (file_id, chunk_no, data) VALUES ($1, $2, $3)");
                insert.Parameters.Add(new() { Value = file.Id });
                insert.Parameters.Add(new() { Value = chunkNo++ });
                insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = buffer.AsMemory(0, filled) });
                await insert.ExecuteNonQueryAsync(cancellationToken);
                if (filled < buffer.Length)
                {
                    break;
                }
            }

            await using var finish = database.DataSource.CreateCommand("UPDATE broker_files SET bytes = $2, status = $3 WHERE id = $1");
            finish.Parameters.Add(new() { Value = file.Id });
            finish.Parameters.Add(new() { Value = bytes });
            finish.Parameters.Add(new() { Value = Processed });
            await finish.ExecuteNonQueryAsync(cancellationToken);
            completed = true;
            return file with { Bytes = bytes, Status = Processed };
        }
        finally
        {
            if (!completed)
            {
                // the chunks go with the row (ON DELETE CASCADE)
                await using var delete = database.DataSource.CreateCommand("DELETE FROM broker_files WHERE id = $1");
                delete.Parameters.Add(new() { Value = file.Id });
                await delete.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>Inserts a file's row (bytes 0) inside the caller's transaction; fill it with a <see cref="FileChunkWriter"/>.</summary>
    public static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, StoredFile file, CancellationToken cancellationToken)
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
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM broker_files WHERE id = $1 AND owner = $2 AND status <> '{Uploading}'");
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
            $"SELECT {Columns} FROM broker_files WHERE owner = $1 AND status <> '{Uploading}' AND ($2::text IS NULL OR purpose = $2) " +
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

    /// <summary>A file's content as a forward-only stream over its chunks (a pooled connection is taken per chunk, never held between reads).</summary>
    public Task<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken) =>
        Task.FromResult<Stream>(FileChunkReadStream.Postgres(database.DataSource, fileId));

    private static StoredFile Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
        reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6));
}
