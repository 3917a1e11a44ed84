using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Retries;
using Broker.Workers.Tests.RateLimits;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Broker.Workers.Tests.Retries;

public sealed class RetrySagaStoreTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly BusOptions Embedded = new();
    private static readonly BusOptions Distributed = new() { RabbitMqUrl = new Uri("amqp://guest:guest@127.0.0.1:5672/") };

    private static RetrySagaStore Store(TimeProvider time, BusOptions bus, RedisOptions? redis = null, BrokerRedis? connection = null) =>
        new(connection ?? new BrokerRedis(redis ?? RedisOptions.From(null, null, null, null, "t"), time, NullLogger<BrokerRedis>.Instance),
            bus, time, NullLogger<RetrySagaStore>.Instance);

    private static ChatCompletionRetryState Instance(DateTimeOffset deadline) =>
        new() { CorrelationId = Guid.NewGuid(), Deadline = deadline, ModelGroup = "g" };

    [Fact]
    public async Task Insert_InMemoryPastDeadlineAndMargin_EntryEvicted()
    {
        var time = new FakeTimeProvider(Start);
        var store = Store(time, Embedded);
        var abandoned = Instance(Start + TimeSpan.FromSeconds(30));
        var later = Instance(Start + TimeSpan.FromMinutes(10));
        Assert.True(await store.InsertAsync(abandoned));
        Assert.True(await store.InsertAsync(later));

        // kept until its deadline and the margin have passed
        time.Advance(TimeSpan.FromSeconds(30) + RetrySagaStore.KeepAfterDeadline - TimeSpan.FromSeconds(1));
        Assert.NotNull(await store.LoadAsync(abandoned.CorrelationId));

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(await store.LoadAsync(abandoned.CorrelationId));
        Assert.True(await store.InsertAsync(Instance(Start + TimeSpan.FromMinutes(10))));
        // the write swept the expired entry out of memory; the one whose deadline is ahead stays
        Assert.Equal(2, store.LocalCount);
        Assert.NotNull(await store.LoadAsync(later.CorrelationId));
    }

    [Fact]
    public async Task Sweep_InMemoryTicketsPastDeadline_Evicted()
    {
        var time = new FakeTimeProvider(Start);
        var store = Store(time, Embedded);
        var requestId = Guid.NewGuid();
        Assert.True(await store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), Start + TimeSpan.FromSeconds(10)));
        Assert.True(await store.AbandonAttemptAsync(requestId, 2, Start + TimeSpan.FromSeconds(10)));
        Assert.Equal(2, store.LocalTicketCount);

        time.Advance(TimeSpan.FromSeconds(11) + RetrySagaStore.KeepAfterDeadline);
        store.Sweep();

        Assert.Equal(0, store.LocalTicketCount);
    }

    [Fact]
    public async Task StartAttempt_AnotherCopyOfTheAttempt_Refused()
    {
        var store = Store(new FakeTimeProvider(Start), Embedded);
        var requestId = Guid.NewGuid();
        var first = Guid.NewGuid();
        var deadline = Start + TimeSpan.FromMinutes(1);

        Assert.True(await store.StartAttemptAsync(requestId, 1, first, deadline));
        // the same message redelivered (its worker died) keeps the attempt; a copy sent again by the saga does not
        Assert.True(await store.StartAttemptAsync(requestId, 1, first, deadline));
        Assert.False(await store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), deadline));
        // the next attempt is another ticket
        Assert.True(await store.StartAttemptAsync(requestId, 2, Guid.NewGuid(), deadline));
    }

    [Fact]
    public async Task CommitAttempt_AfterTheSagaGaveUpOnIt_Refused()
    {
        var store = Store(new FakeTimeProvider(Start), Embedded);
        var requestId = Guid.NewGuid();
        var worker = Guid.NewGuid();
        var deadline = Start + TimeSpan.FromMinutes(1);
        Assert.True(await store.StartAttemptAsync(requestId, 1, worker, deadline));

        Assert.True(await store.AbandonAttemptAsync(requestId, 1, deadline));

        // the late answer is not sent, and the command, if it was still queued, does not start
        Assert.False(await store.CommitAttemptAsync(requestId, 1, worker, deadline));
        Assert.False(await store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), deadline));
    }

    [Fact]
    public async Task AbandonAttempt_AfterItAnswered_Refused()
    {
        var store = Store(new FakeTimeProvider(Start), Embedded);
        var requestId = Guid.NewGuid();
        var worker = Guid.NewGuid();
        var deadline = Start + TimeSpan.FromMinutes(1);
        Assert.True(await store.StartAttemptAsync(requestId, 1, worker, deadline));
        Assert.True(await store.CommitAttemptAsync(requestId, 1, worker, deadline));

        Assert.False(await store.AbandonAttemptAsync(requestId, 1, deadline));
        // a redelivery of the answering message still may answer (at least once)
        Assert.True(await store.CommitAttemptAsync(requestId, 1, worker, deadline));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Tickets_InRedis_SameRulesAsInMemory()
    {
        var options = RedisRoutingStateTests.LocalRedis();
        await using var redis = new BrokerRedis(options, TimeProvider.System, NullLogger<BrokerRedis>.Instance);
        await redis.ConnectAsync();
        var store = Store(TimeProvider.System, Distributed, connection: redis);
        var requestId = Guid.NewGuid();
        var worker = Guid.NewGuid();
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(1);

        Assert.True(await store.StartAttemptAsync(requestId, 1, worker, deadline));
        Assert.False(await store.StartAttemptAsync(requestId, 1, Guid.NewGuid(), deadline));
        Assert.True(await store.AbandonAttemptAsync(requestId, 1, deadline));
        Assert.False(await store.CommitAttemptAsync(requestId, 1, worker, deadline));
        Assert.True(await store.StartAttemptAsync(requestId, 2, worker, deadline));
        Assert.True(await store.CommitAttemptAsync(requestId, 2, worker, deadline));
        Assert.False(await store.AbandonAttemptAsync(requestId, 2, deadline));
        Assert.Equal(0, store.LocalTicketCount);
    }

    [Fact]
    public async Task Load_DistributedAndRedisUnreachable_FailsInsteadOfUsingMemory()
    {
        // a port nobody listens on: Redis is configured but down
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var options = RedisOptions.From(null, null, null, $"127.0.0.1:{port}", "t");
        await using var redis = new BrokerRedis(options, TimeProvider.System, NullLogger<BrokerRedis>.Instance);
        await redis.ConnectAsync();
        var store = Store(TimeProvider.System, Distributed, connection: redis);
        var instance = Instance(TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(1));

        await Assert.ThrowsAnyAsync<RedisException>(() => store.InsertAsync(instance));
        await Assert.ThrowsAnyAsync<RedisException>(() => store.LoadAsync(instance.CorrelationId));
        await Assert.ThrowsAnyAsync<RedisException>(() => store.StartAttemptAsync(instance.CorrelationId, 1, Guid.NewGuid(), instance.Deadline));
        Assert.Equal(0, store.LocalCount);
    }
}
