using Broker.ServiceDefaults.Database;
using Microsoft.Data.Sqlite;

namespace Broker.Ingress.Features.Files;

/// <summary>
/// <see cref="FileStore"/>'s behaviour on the embedded SQLite file (broker_files + broker_file_chunks, content as BLOB
/// chunks). The row is written first as <c>uploading</c> (invisible), each chunk is inserted with a connection taken
/// for that insert only (SQLite's write lock is never held while the client sends), and the row turns
/// <c>processed</c> at the end; a failed or abandoned upload is deleted.
/// </summary>
public sealed class SqliteFileStore(BrokerDatabase database, TimeProvider timeProvider) : IFileStore
{
    private const string Columns = "id, owner, purpose, filename, bytes, created_at, status";
    private const string Uploading = "uploading";
    private const string Processed = "processed";

    public bool IsConfigured => true;

    public string NewId() => "file-" + Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("N");

    public async Task<StoredFile?> CreateAsync(string owner, string purpose, string filename, Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var file = new StoredFile(NewId(), owner, purpose, filename, 0, timeProvider.GetUtcNow(), Uploading);
        await using (var connection = await database.OpenSqliteAsync(cancellationToken))
        {
            await InsertAsync(connection, null, file, cancellationToken);
        }

        var completed = false;
        try
        {
            var buffer = new byte[FileStore.ChunkSize];
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

                await using (var connection = await database.OpenSqliteAsync(cancellationToken))
                {
                    await InsertChunkAsync(connection, null, file.Id, chunkNo++, buffer.AsMemory(0, filled), cancellationToken);
                }

                if (filled < buffer.Length)
                {
                    break;
                }
            }

            await ExecuteAsync("UPDATE broker_files SET bytes = $bytes, status = $status WHERE id = $id", cancellationToken,
                ("$id", file.Id), ("$bytes", bytes), ("$status", Processed));
            completed = true;
            return file with { Bytes = bytes, Status = Processed };
        }
        finally
        {
            if (!completed)
            {
                // the chunks go with the row (ON DELETE CASCADE, foreign keys are on for every connection)
                await ExecuteAsync("DELETE FROM broker_files WHERE id = $id", CancellationToken.None, ("$id", file.Id));
            }
        }
    }

    /// <summary>Inserts a file's row (bytes 0), in the caller's transaction when one is given.</summary>
    public static async Task InsertAsync(SqliteConnection connection, SqliteTransaction? transaction, StoredFile file, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(file);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"INSERT INTO broker_files ({Columns}) VALUES ($id, $owner, $purpose, $filename, $bytes, $created_at, $status)";
        insert.Parameters.AddWithValue("$id", file.Id);
        insert.Parameters.AddWithValue("$owner", file.Owner);
        insert.Parameters.AddWithValue("$purpose", file.Purpose);
        insert.Parameters.AddWithValue("$filename", PgText.Clean(file.Filename));
        insert.Parameters.AddWithValue("$bytes", file.Bytes);
        insert.Parameters.AddWithValue("$created_at", SqliteValues.Time(file.CreatedAt));
        insert.Parameters.AddWithValue("$status", file.Status);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Inserts one chunk of a file's content.</summary>
    public static async Task InsertChunkAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string fileId, int chunkNo, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO broker_file_chunks (file_id, chunk_no, data) VALUES ($file_id, $chunk_no, $data)";
        insert.Parameters.AddWithValue("$file_id", fileId);
        insert.Parameters.AddWithValue("$chunk_no", chunkNo);
        insert.Parameters.Add("$data", SqliteType.Blob).Value = data.ToArray();
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Sets a file's size once its chunks are written, in the caller's transaction.</summary>
    public static async Task SetBytesAsync(SqliteConnection connection, SqliteTransaction transaction, string fileId, long bytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE broker_files SET bytes = $bytes WHERE id = $id";
        update.Parameters.AddWithValue("$id", fileId);
        update.Parameters.AddWithValue("$bytes", bytes);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task SetPurposeAsync(string id, string purpose, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE broker_files SET purpose = $purpose WHERE id = $id", cancellationToken, ("$id", id), ("$purpose", purpose));

    public async Task<StoredFile?> GetAsync(string owner, string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {Columns} FROM broker_files WHERE id = $id AND owner = $owner AND status <> '{Uploading}'", cancellationToken,
            ("$id", id), ("$owner", owner))) is [var file, ..] ? file : null;

    public Task<IReadOnlyList<StoredFile>> ListAsync(string owner, string? purpose, string? after, int limit, bool ascending, CancellationToken cancellationToken)
    {
        var order = ascending ? "ASC" : "DESC";
        var cursor = ascending ? ">" : "<";
        return QueryAsync(
            $"SELECT {Columns} FROM broker_files WHERE owner = $owner AND status <> '{Uploading}' AND ($purpose IS NULL OR purpose = $purpose) " +
            $"AND ($after IS NULL OR (created_at, id) {cursor} (SELECT created_at, id FROM broker_files WHERE id = $after AND owner = $owner)) " +
            $"ORDER BY created_at {order}, id {order} LIMIT $limit",
            cancellationToken, ("$owner", owner), ("$purpose", purpose), ("$after", after), ("$limit", limit));
    }

    public async Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM broker_files WHERE id = $id AND owner = $owner", cancellationToken, ("$id", id), ("$owner", owner)) > 0;

    public async Task CopyContentAsync(string fileId, Stream destination, CancellationToken cancellationToken)
    {
        await using var content = await OpenReadAsync(fileId, cancellationToken);
        await content.CopyToAsync(destination, 64 * 1024, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken) =>
        Task.FromResult<Stream>(new FileChunkReadStream(async (lastChunk, ct) =>
        {
            await using var connection = await database.OpenSqliteAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT chunk_no, data FROM broker_file_chunks WHERE file_id = $file_id AND chunk_no > $last ORDER BY chunk_no LIMIT 1";
            command.Parameters.AddWithValue("$file_id", fileId);
            command.Parameters.AddWithValue("$last", lastChunk);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? (reader.GetInt32(0), (byte[])reader.GetValue(1)) : null;
        }));

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<StoredFile>> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        var files = new List<StoredFile>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            files.Add(new StoredFile(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
                SqliteValues.ParseTime(reader.GetString(5)), reader.GetString(6)));
        }

        return files;
    }
}
