using Npgsql;

namespace Broker.Ingress.Features.Files;

/// <summary>A read-only stream over a file's chunk rows, read one at a time from the server; owns its connection.</summary>
public sealed class FileChunkReadStream(NpgsqlConnection connection, NpgsqlCommand command, NpgsqlDataReader reader) : Stream
{
    private Stream? _current;
    private bool _ended;
    private bool _closed;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!_ended)
        {
            if (_current is not null)
            {
                var read = await _current.ReadAsync(buffer, cancellationToken);
                if (read > 0)
                {
                    return read;
                }

                await _current.DisposeAsync();
                _current = null;
            }

            if (!await reader.ReadAsync(cancellationToken))
            {
                _ended = true;
                break;
            }

            _current = reader.GetStream(0);
        }

        return 0;
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

    public override async ValueTask DisposeAsync()
    {
        await CloseAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    private async ValueTask CloseAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        if (_current is not null)
        {
            await _current.DisposeAsync();
        }

        await reader.DisposeAsync();
        await command.DisposeAsync();
        await connection.DisposeAsync();
    }
}
