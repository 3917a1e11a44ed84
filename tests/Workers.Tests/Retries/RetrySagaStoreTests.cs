using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Retries;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Broker.Workers.Tests.Retries;

public sealed class RetrySagaStoreTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    internal static readonly BusOptions Embedded = new();
    internal static readonly BusOptions Distributed = new() { RabbitMqUrl = new Uri("amqp://guest:guest@127.0.0.1:5672/") };

    internal static RetrySagaStore Store(
        TimeProvider time, BusOptions bus, RedisOptions? redis = null, BrokerRedis? connection = null, BrokerDatabase? database = null) =>
        new(connection ?? new BrokerRedis(redis ?? RedisOptions.From(null, null, null, null, "t"), time, NullLogger<BrokerRedis>.Instance),
            database ?? new BrokerDatabase(null), bus, time, NullLogger<RetrySagaStore>.Instance);

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
    public async Task EnsureUsable_DistributedWithNeitherDatabaseNorRedis_RefusesNamingBoth()
    {
        var store = Store(TimeProvider.System, Distributed);

        var refused = Assert.Throws<InvalidOperationException>(store.EnsureUsable);

        Assert.Equal(RetrySagaStoreKind.None, store.Kind);
        Assert.Contains("database_url", refused.Message, StringComparison.Ordinal);
        Assert.Contains("REDIS_URL", refused.Message, StringComparison.Ordinal);
        // nothing is ever kept in memory instead
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.InsertAsync(Instance(TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(1))));
        Assert.Equal(0, store.LocalCount);
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
        // a ticket the store cannot be reached for, after a few short tries: the worker's error pipe answers the client
        var ticket = await Assert.ThrowsAsync<AttemptTicketUnavailableException>(() => store.StartAttemptAsync(instance.CorrelationId, 1, Guid.NewGuid(), instance.Deadline));
        Assert.IsAssignableFrom<RedisException>(ticket.InnerException);
        Assert.Equal(0, store.LocalCount);
    }
}
