using System.Text.Json;
using Broker.Contracts.Identity;
using Broker.Ingress.Features.Batches;
using Broker.Ingress.Features.Files;
using Broker.ServiceDefaults.Database;
using Broker.TestKit;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Ingress.Tests.Features.Batches;

/// <summary>
/// Files and batches belong to the key that created them (its hash, or <c>master</c>): for another key they do not
/// exist. The endpoints pass the authenticated caller's key hash as the owner; these tests drive the stores with two
/// owners against the real PostgreSQL.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OwnerScopingTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private BrokerDatabase _database = null!;
    private FileStore _files = null!;
    private BatchStore _batches = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _database = new BrokerDatabase(_db.ConnectionString);
        await new DatabaseMigrator(_database, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateAsync(CancellationToken.None);
        _files = new FileStore(_database, TimeProvider.System);
        _batches = new BatchStore(_database, TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task File_OtherOwner_NotFoundNotListedNotDeleted()
    {
        using var content = new MemoryStream("{}\n"u8.ToArray());
        var file = await _files.CreateAsync("key-a", "batch", "a.jsonl", content, FileStore.MaxBytes, CancellationToken.None);

        Assert.NotNull(await _files.GetAsync("key-a", file!.Id, CancellationToken.None));
        Assert.Null(await _files.GetAsync("key-b", file.Id, CancellationToken.None));
        Assert.Null(await _files.GetAsync(FileOwner.Master, file.Id, CancellationToken.None));
        Assert.Empty(await _files.ListAsync("key-b", null, null, 100, false, CancellationToken.None));
        Assert.False(await _files.DeleteAsync("key-b", file.Id, CancellationToken.None));
        Assert.Single(await _files.ListAsync("key-a", null, null, 100, false, CancellationToken.None));
    }

    [Fact]
    public async Task Batch_OtherOwner_NotFoundNotListedNotCancelled()
    {
        var now = TimeProvider.System.GetUtcNow();
        var batch = new BatchRecord
        {
            Id = _batches.NewId(), Owner = "key-a", Endpoint = "/v1/chat/completions", InputFileId = "file-x",
            CompletionWindow = "24h", Status = "in_progress", CreatedAt = now, ExpiresAt = now.AddHours(24),
        };
        await _batches.InsertAsync(batch, null, CancellationToken.None);

        Assert.Null(await _batches.GetAsync("key-b", batch.Id, CancellationToken.None));
        Assert.Empty(await _batches.ListAsync("key-b", null, 100, CancellationToken.None));
        Assert.Null(await _batches.CancelAsync("key-b", batch.Id, CancellationToken.None));
        Assert.Equal("in_progress", (await _batches.GetAsync("key-a", batch.Id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task File_OverLimit_NothingKept()
    {
        using var content = new MemoryStream(new byte[3 * FileStore.ChunkSize]);

        var file = await _files.CreateAsync("key-a", "batch", "big.jsonl", content, 2L * FileStore.ChunkSize, CancellationToken.None);

        Assert.Null(file);
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM broker_files"));
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM broker_file_chunks"));
    }

    [Fact]
    public async Task Claim_BatchOfAKey_LineCarriesTheSubmittingCaller()
    {
        var caller = new Caller { KeyHash = "hash-a", KeyAlias = "alias", UserId = "u1", TeamId = "t1", Tags = ["x"] };
        var now = TimeProvider.System.GetUtcNow();
        var batch = new BatchRecord
        {
            Id = _batches.NewId(), Owner = "hash-a", Endpoint = "/v1/chat/completions", InputFileId = "file-x",
            CompletionWindow = "24h", Status = "in_progress", CreatedAt = now, ExpiresAt = now.AddHours(24),
        };
        await _batches.InsertAsync(batch, JsonSerializer.Serialize(caller), CancellationToken.None);
        await _db.ExecuteAsync($"INSERT INTO broker_batch_lines (batch_id, line_no, custom_id, model_group, requested_model, body) VALUES ('{batch.Id}', 1, 'c1', 'g', 'm', '{{}}')");

        var line = Assert.Single(await _batches.ClaimAsync("g", 10, now.AddMinutes(5), CancellationToken.None));

        var carried = JsonSerializer.Deserialize<Caller>(line.Caller!)!;
        Assert.Equal(caller, carried with { Tags = caller.Tags });
        Assert.Equal(["x"], carried.Tags);
        Assert.Equal(1, line.Attempts);
        Assert.Empty(await _batches.ClaimAsync("g", 10, now.AddMinutes(5), CancellationToken.None));
    }
}
