using Broker.Config;
using Broker.Config.Loading;
using Broker.Ingress.Auth;
using Broker.ServiceDefaults.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Ingress.Tests.Auth;

/// <summary>
/// The reservation ledger, in this process and in the local Redis (the same rules in C# and in Lua): holds, settling,
/// Billing's total taking over settled costs, and holds or costs that are never confirmed lapsing.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BudgetReservationsTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 10, 0, 5, TimeSpan.Zero));

    private static BudgetScope Key(decimal known = 0, decimal max = 1m) => new("key", "hash", max, known, 0);

    private async Task<(BudgetReservations Ledger, BrokerRedis Redis)> CreateAsync(bool shared)
    {
        var url = Environment.GetEnvironmentVariable("REDIS_URL");
        Assert.False(shared && string.IsNullOrEmpty(url), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
        var options = shared
            ? RedisOptions.From(null, null, null, url, $"budget-test-{Guid.NewGuid():N}") with { CommandTimeout = TimeSpan.FromSeconds(2) }
            : new RedisOptions();
        var redis = new BrokerRedis(options, _time, NullLogger<BrokerRedis>.Instance);
        await redis.ConnectAsync();
        Assert.Equal(shared, redis.Available() is not null);
        var loaded = ProxyConfigLoader.LoadText("model_list: []\n", "config.yaml", _ => null);
        Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
        return (new BudgetReservations(redis, new ProxyConfigProvider(loaded.Config!), new AuthOptions(), _time), redis);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reserve_EstimateOfRequestInFlightReachesBudget_RefusesUntilSettled(bool shared)
    {
        var (ledger, redis) = await CreateAsync(shared);
        await using var _ = redis;

        var first = await ledger.ReserveAsync([Key()], 2m);
        var second = await ledger.ReserveAsync([Key()], 0.01m);
        await ledger.SettleAsync(first, 0.3m);
        var third = await ledger.ReserveAsync([Key()], 0.01m);

        Assert.Null(first.Refusal);
        Assert.Equal((0m, 2m), (second.Refusal!.Spend, second.Refusal.InFlight));
        Assert.Null(third.Refusal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reserve_BillingTotalIncludesSettledCost_CountsItOnce(bool shared)
    {
        var (ledger, redis) = await CreateAsync(shared);
        await using var _ = redis;

        await ledger.SettleAsync(await ledger.ReserveAsync([Key()], 0.1m), 0.6m);
        var beforeBilling = await ledger.ReserveAsync([Key(known: 0m)], 0m);
        var afterBilling = await ledger.ReserveAsync([Key(known: 0.6m)], 0m);
        await ledger.SettleAsync(await ledger.ReserveAsync([Key(known: 0.6m)], 0m), 0.5m);
        var over = await ledger.ReserveAsync([Key(known: 0.6m)], 0m);

        Assert.Null(beforeBilling.Refusal);
        Assert.Null(afterBilling.Refusal);
        Assert.Equal(1.1m, over.Refusal!.Spend);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reserve_HoldNeverSettled_LapsesAfterLongestRequestTime(bool shared)
    {
        var (ledger, redis) = await CreateAsync(shared);
        await using var _ = redis;

        Assert.Null((await ledger.ReserveAsync([Key()], 5m)).Refusal); // its process is killed: never settled
        Assert.NotNull((await ledger.ReserveAsync([Key()], 0m)).Refusal);
        _time.Advance(TimeSpan.FromMinutes(12)); // request timeout (600 s) + 1 minute, in whole minutes

        Assert.Null((await ledger.ReserveAsync([Key()], 0m)).Refusal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reserve_SettledCostBillingNeverConfirms_LapsesAfterSettledSpendSeconds(bool shared)
    {
        var (ledger, redis) = await CreateAsync(shared);
        await using var _ = redis;

        await ledger.SettleAsync(await ledger.ReserveAsync([Key()], 0m), 2m);
        Assert.Equal(2m, (await ledger.ReserveAsync([Key()], 0m)).Refusal!.Spend);
        _time.Advance(TimeSpan.FromSeconds(70));

        Assert.Null((await ledger.ReserveAsync([Key()], 0m)).Refusal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reserve_NewBudgetPeriod_StartsFromZeroButKeepsHoldsInFlight(bool shared)
    {
        var (ledger, redis) = await CreateAsync(shared);
        await using var _ = redis;
        await ledger.SettleAsync(await ledger.ReserveAsync([Key(known: 0.5m)], 0m), 0.6m);
        var inFlight = await ledger.ReserveAsync([Key(known: 0.5m, max: 10m)], 0.7m);

        var nextPeriod = await ledger.ReserveAsync([new BudgetScope("key", "hash", 1m, 0m, 1)], 0m);
        var overInNextPeriod = await ledger.ReserveAsync([new BudgetScope("key", "hash", 0.7m, 0m, 1)], 0m);

        Assert.Null(inFlight.Refusal);
        Assert.Null(nextPeriod.Refusal);
        Assert.Equal((0m, 0.7m), (overInNextPeriod.Refusal!.Spend, overInNextPeriod.Refusal.InFlight));
    }
}
