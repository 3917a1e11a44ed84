namespace Broker.Ingress.Features.Files;

/// <summary>
/// Files (OpenAI's Files API), each scoped to its owner (the creating key's hash, or <c>master</c>): another owner's
/// file does not exist for the caller. Content is written and read as a stream of <see cref="FileStore.ChunkSize"/>
/// chunks, never whole in memory. Two implementations with one behaviour, proved by one contract test suite:
/// <see cref="FileStore"/> (PostgreSQL) and <see cref="SqliteFileStore"/> (the embedded file).
/// </summary>
public interface IFileStore
{
    /// <summary>True when files can be kept (a PostgreSQL database or the embedded SQLite file).</summary>
    bool IsConfigured { get; }

    /// <summary>A new file id, time-ordered.</summary>
    string NewId();

    /// <summary>Stores <paramref name="content"/> as a new file; null when it is longer than <paramref name="maxBytes"/> (nothing is kept).</summary>
    Task<StoredFile?> CreateAsync(string owner, string purpose, string filename, Stream content, long maxBytes, CancellationToken cancellationToken);

    Task SetPurposeAsync(string id, string purpose, CancellationToken cancellationToken);

    Task<StoredFile?> GetAsync(string owner, string id, CancellationToken cancellationToken);

    /// <summary>The owner's files, newest first (<paramref name="ascending"/> for oldest first), after the cursor file id, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredFile>> ListAsync(string owner, string? purpose, string? after, int limit, bool ascending, CancellationToken cancellationToken);

    /// <summary>Deletes the owner's file and its content; false when there is no such file.</summary>
    Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken);

    /// <summary>Copies a file's content, chunk by chunk, to <paramref name="destination"/>.</summary>
    Task CopyContentAsync(string fileId, Stream destination, CancellationToken cancellationToken);

    /// <summary>A file's content as a forward-only stream over its chunks (no connection is held between reads).</summary>
    Task<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken);
}
