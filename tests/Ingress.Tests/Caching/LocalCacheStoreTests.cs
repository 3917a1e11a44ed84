using Broker.Ingress.Caching;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Ingress.Tests.Caching;

public sealed class LocalCacheStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Get_AfterTtl_Misses()
    {
        var store = new LocalCacheStore(_time, 10, 1000);
        await store.SetAsync("k", new CacheEntry("body", _time.GetUtcNow()), TimeSpan.FromSeconds(10), default);

        _time.Advance(TimeSpan.FromSeconds(9));
        var before = await store.GetAsync("k", default);
        _time.Advance(TimeSpan.FromSeconds(1));
        var after = await store.GetAsync("k", default);

        Assert.Equal("body", before!.Body);
        Assert.Null(after);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Set_OverEntryLimit_EvictsLeastRecentlyUsed()
    {
        var store = new LocalCacheStore(_time, 2, 1000);
        var ttl = TimeSpan.FromMinutes(1);
        await store.SetAsync("a", new CacheEntry("1", _time.GetUtcNow()), ttl, default);
        await store.SetAsync("b", new CacheEntry("2", _time.GetUtcNow()), ttl, default);
        await store.GetAsync("a", default);

        await store.SetAsync("c", new CacheEntry("3", _time.GetUtcNow()), ttl, default);

        Assert.NotNull(await store.GetAsync("a", default));
        Assert.Null(await store.GetAsync("b", default));
        Assert.NotNull(await store.GetAsync("c", default));
    }

    [Fact]
    public async Task Set_OverSizeLimit_EvictsUntilItFits()
    {
        var store = new LocalCacheStore(_time, 100, 20);
        var ttl = TimeSpan.FromMinutes(1);
        await store.SetAsync("a", new CacheEntry(new string('x', 9), _time.GetUtcNow()), ttl, default);
        await store.SetAsync("b", new CacheEntry(new string('y', 9), _time.GetUtcNow()), ttl, default);
        await store.SetAsync("huge", new CacheEntry(new string('z', 50), _time.GetUtcNow()), ttl, default);
        await store.SetAsync("c", new CacheEntry(new string('w', 9), _time.GetUtcNow()), ttl, default);

        Assert.Equal(2, store.Count);
        Assert.Null(await store.GetAsync("huge", default));
        Assert.Null(await store.GetAsync("a", default));
        Assert.NotNull(await store.GetAsync("b", default));
        Assert.NotNull(await store.GetAsync("c", default));
    }
}
