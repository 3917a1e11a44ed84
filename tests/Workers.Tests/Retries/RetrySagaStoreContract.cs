using Broker.Workers.Retries;
using MassTransit;

namespace Broker.Workers.Tests.Retries;

/// <summary>
/// The rules every place <see cref="RetrySagaStore"/> keeps state by must follow (memory, Redis, PostgreSQL): inserts
/// that never overwrite a live instance, updates that fail when someone saved since the load, and attempt tickets that
/// let exactly one copy of an attempt run and answer.
/// </summary>
public abstract class RetrySagaStoreContract : IAsyncLifetime
{
    protected RetrySagaStore Store { get; set; } = null!;

    /// <summary>Now, on the clock the store uses.</summary>
    protected abstract DateTimeOffset Now { get; }

    public abstract Task InitializeAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private ChatCompletionRetryState Instance() =>
        new() { CorrelationId = Guid.NewGuid(), Deadline = Now + TimeSpan.FromMinutes(1), ModelGroup = "g", Attempt = 1 };

    [Fact]
    public async Task Insert_ThenLoad_ReturnsTheInstanceAtVersionOne()
    {
        var instance = Instance();
        instance.Attempts.Add(new RetryAttempt { Attempt = 0, ModelGroup = "g", Status = RetryAttemptStatus.Failed, StartedAt = Now });

        Assert.True(await Store.InsertAsync(instance));

        var loaded = await Store.LoadAsync(instance.CorrelationId);
        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Version);
        Assert.Equal("g", loaded.ModelGroup);
        Assert.Single(loaded.Attempts);
        Assert.Null(await Store.LoadAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Insert_SameIdTwice_SecondRefused()
    {
        var instance = Instance();
        Assert.True(await Store.InsertAsync(instance));

        Assert.False(await Store.InsertAsync(new ChatCompletionRetryState { CorrelationId = instance.CorrelationId, Deadline = instance.Deadline }));
        Assert.Equal("g", (await Store.LoadAsync(instance.CorrelationId))!.ModelGroup);
    }

    [Fact]
    public async Task Update_SavedBySomeoneElseSinceLoad_ConcurrencyException()
    {
        var instance = Instance();
        await Store.InsertAsync(instance);
        var mine = (await Store.LoadAsync(instance.CorrelationId))!;
        var theirs = (await Store.LoadAsync(instance.CorrelationId))!;

        theirs.Attempt = 2;
        await Store.UpdateAsync(theirs);
        mine.Attempt = 3;
        await Assert.ThrowsAsync<ConcurrencyException>(() => Store.UpdateAsync(mine));

        var stored = (await Store.LoadAsync(instance.CorrelationId))!;
        Assert.Equal(2, stored.Attempt);
        Assert.Equal(2, stored.Version);
        // the loser keeps the version it loaded, so a reload-and-retry is what succeeds
        Assert.Equal(1, mine.Version);
    }

    [Fact]
    public async Task Update_AfterDelete_ConcurrencyException()
    {
        var instance = Instance();
        await Store.InsertAsync(instance);
        var loaded = (await Store.LoadAsync(instance.CorrelationId))!;

        await Store.DeleteAsync(instance.CorrelationId);

        await Assert.ThrowsAsync<ConcurrencyException>(() => Store.UpdateAsync(loaded));
        Assert.Null(await Store.LoadAsync(instance.CorrelationId));
    }

    [Fact]
    public async Task StartAttempt_AnotherCopyOfTheAttempt_Refused()
    {
        var requestId = Guid.NewGuid();
        var first = Guid.NewGuid();
        var deadline = Now + TimeSpan.FromMinutes(1);

        Assert.True(await Store.StartAttemptAsync(requestId, 1, first, deadline));
        // the same message redelivered (its worker died) keeps the attempt; a copy sent again by the saga does not
        Assert.True(await Store.StartAttemptAsync(requestId, 1, first, deadline));
        Assert.False(await Store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), deadline));
        // the next attempt is another ticket
        Assert.True(await Store.StartAttemptAsync(requestId, 2, Guid.NewGuid(), deadline));
    }

    [Fact]
    public async Task StartAttempt_ManyCopiesAtOnce_ExactlyOneRuns()
    {
        var requestId = Guid.NewGuid();
        var deadline = Now + TimeSpan.FromMinutes(1);

        var started = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(_ => Task.Run(() => Store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), deadline))));

        Assert.Single(started, s => s);
    }

    [Fact]
    public async Task CommitAttempt_AfterTheSagaGaveUpOnIt_Refused()
    {
        var requestId = Guid.NewGuid();
        var worker = Guid.NewGuid();
        var deadline = Now + TimeSpan.FromMinutes(1);
        Assert.True(await Store.StartAttemptAsync(requestId, 1, worker, deadline));

        Assert.True(await Store.AbandonAttemptAsync(requestId, 1, deadline));

        // the late answer is not sent, and the command, if it was still queued, does not start
        Assert.False(await Store.CommitAttemptAsync(requestId, 1, worker, deadline));
        Assert.False(await Store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), deadline));
    }

    [Fact]
    public async Task AbandonAttempt_AfterItAnswered_Refused()
    {
        var requestId = Guid.NewGuid();
        var worker = Guid.NewGuid();
        var deadline = Now + TimeSpan.FromMinutes(1);
        Assert.True(await Store.StartAttemptAsync(requestId, 1, worker, deadline));
        Assert.True(await Store.CommitAttemptAsync(requestId, 1, worker, deadline));

        Assert.False(await Store.AbandonAttemptAsync(requestId, 1, deadline));
        // a redelivery of the answering message still may answer (at least once); another copy may not
        Assert.True(await Store.CommitAttemptAsync(requestId, 1, worker, deadline));
        Assert.False(await Store.CommitAttemptAsync(requestId, 1, Guid.NewGuid(), deadline));
    }

    [Fact]
    public async Task AbandonAttempt_NeverStarted_LaterCopyDropped()
    {
        var requestId = Guid.NewGuid();
        var deadline = Now + TimeSpan.FromMinutes(1);

        // its message was lost (or still queued) when the step timed out
        Assert.True(await Store.AbandonAttemptAsync(requestId, 1, deadline));

        Assert.False(await Store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), deadline));
    }
}
