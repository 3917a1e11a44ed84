using Npgsql;

namespace Broker.Ingress.Features.Files;

/// <summary>
/// Buffers written bytes into <see cref="FileStore.ChunkSize"/> chunks and inserts each as it fills (inside the caller's
/// transaction): the store gives the insert of one chunk (its number and bytes).
/// </summary>
public sealed class FileChunkWriter(Func<int, ReadOnlyMemory<byte>, CancellationToken, Task> insertChunk)
{
    private readonly byte[] _buffer = new byte[FileStore.ChunkSize];
    private int _buffered;
    private int _chunkNo;

    /// <summary>Bytes written so far.</summary>
    public long Bytes { get; private set; }

    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (data.Length > 0)
        {
            var take = Math.Min(data.Length, _buffer.Length - _buffered);
            data[..take].CopyTo(_buffer.AsMemory(_buffered));
            _buffered += take;
            Bytes += take;
            data = data[take..];
            if (_buffered == _buffer.Length)
            {
                await FlushAsync(cancellationToken);
            }
        }
    }

    /// <summary>Inserts what is buffered as the next chunk.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffered == 0)
        {
            return;
        }

        await insertChunk(_chunkNo++, _buffer.AsMemory(0, _buffered), cancellationToken);
        _buffered = 0;
    }

    /// <summary>A writer of a file's chunks in PostgreSQL, inside the caller's transaction.</summary>
    public static FileChunkWriter Postgres(NpgsqlConnection connection, NpgsqlTransaction transaction, string fileId) => new(async (chunkNo, data, cancellationToken) =>
    {
        await using var insert = new NpgsqlCommand("INSERT INTO broker_file_chunks (file_id, chunk_no, data) VALUES ($1, $2, $3)", connection, transaction);
        insert.Parameters.Add(new() { Value = fileId });
        insert.Parameters.Add(new() { Value = chunkNo });
        insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = data });
        await insert.ExecuteNonQueryAsync(cancellationToken);
    });
}
