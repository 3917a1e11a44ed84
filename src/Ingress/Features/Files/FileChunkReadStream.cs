using Npgsql;

namespace Broker.Ingress.Features.Files;

/// <summary>
/// A read-only stream over a file's chunk rows: each chunk is fetched with its own short query (a pooled connection
/// taken and given back at once), so a reader that is slow (a client downloading at modem speed) holds no connection
/// between chunks. The store gives the query: the next chunk after a chunk number, or null at the end.
/// </summary>
public sealed class FileChunkReadStream(Func<int, CancellationToken, Task<(int ChunkNo, byte[] Data)?>> nextAfter) : Stream
{
    private byte[] _current = [];
    private int _offset;
    private int _lastChunk = -1;
    private bool _ended;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _current.Length)
        {
            if (_ended || !await NextChunkAsync(cancellationToken))
            {
                _ended = true;
                return 0;
            }
        }

        var take = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, take).CopyTo(buffer);
        _offset += take;
        return take;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>A stream over a file's chunks in PostgreSQL.</summary>
    public static FileChunkReadStream Postgres(NpgsqlDataSource dataSource, string fileId) => new(async (lastChunk, cancellationToken) =>
    {
        await using var command = dataSource.CreateCommand(
            "SELECT chunk_no, data FROM broker_file_chunks WHERE file_id = $1 AND chunk_no > $2 ORDER BY chunk_no LIMIT 1");
        command.Parameters.Add(new() { Value = fileId });
        command.Parameters.Add(new() { Value = lastChunk });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt32(0), reader.GetFieldValue<byte[]>(1)) : null;
    });

    private async Task<bool> NextChunkAsync(CancellationToken cancellationToken)
    {
        if (await nextAfter(_lastChunk, cancellationToken) is not { } chunk)
        {
            return false;
        }

        _lastChunk = chunk.ChunkNo;
        _current = chunk.Data;
        _offset = 0;
        return true;
    }
}
