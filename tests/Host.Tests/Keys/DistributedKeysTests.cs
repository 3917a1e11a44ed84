using System.Diagnostics;
using System.Net;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Keys;

/// <summary>Two Ingress hosts, workers and billing over the real RabbitMQ, sharing the real Redis and a PostgreSQL database.</summary>
[Trait("Category", "Integration")]
public sealed class DistributedKeysTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task RpmLimit_TwoIngressHosts_HoldsAcrossBoth()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, _) = await rabbit.CreateVirtualHostAsync();
        await using var broker = await StartAsync(upstream, db, url);
        using var a = Client(broker.Hosts[2]);
        using var b = Client(broker.Hosts[3]);
        var key = await GenerateKeyAsync(a, new { rpm_limit = 3 });
        // the counters are per minute: start well inside one
        while (DateTime.UtcNow.Second > 45)
        {
            await Task.Delay(500);
        }

        var first = await ChatAsync(a, key);
        var second = await ChatAsync(b, key);
        var third = await ChatAsync(a, key);
        var fourth = await ChatAsync(b, key);
        var fifth = await ChatAsync(a, key);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], new[] { first.Status, second.Status, third.Status });
        Assert.Equal("3", first.Response.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal("2", first.Response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal("1", second.Response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, fifth.Status);
        Assert.Contains("rpm limit: 3", AssertOpenAiError(fourth.Body, "rate_limit_error")["message"]!.GetValue<string>());
        Assert.Equal("0", fourth.Response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.True(fourth.Response.Headers.RetryAfter is not null);
        Assert.Equal(3, upstream.Requests.Count);
    }

    [Fact]
    public async Task DeleteKey_OnOneIngress_StopsWorkingOnTheOtherAtOnce()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, _) = await rabbit.CreateVirtualHostAsync();
        await using var broker = await StartAsync(upstream, db, url);
        using var a = Client(broker.Hosts[2]);
        using var b = Client(broker.Hosts[3]);
        var key = await GenerateKeyAsync(a, new { });
        var blocked = await GenerateKeyAsync(a, new { });
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(b, key)).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(b, blocked)).Status);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(a, "key/delete", MasterKey, new { keys = new[] { key } })).Status);
        var watch = Stopwatch.StartNew();
        var refused = await EventuallyAsync(async () => (await ChatAsync(b, key)).Status == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(10));
        watch.Stop();
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(a, "key/update", MasterKey, new { key = blocked, blocked = true })).Status);
        var blockedRefused = await EventuallyAsync(async () => (await ChatAsync(b, blocked)).Status == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(10));

        Assert.True(refused, "the deleted key kept working on the other ingress");
        // "within a second" in production; generous here because the test machine is shared
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.True(blockedRefused, "the blocked key kept working on the other ingress");
    }

    private static Task<BrokerRunner> StartAsync(FakeUpstream upstream, TestDatabase db, Uri rabbitMq)
    {
        var redis = Environment.GetEnvironmentVariable("REDIS_URL");
        Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
        return BrokerRunner.StartAsync(Yaml(upstream.BaseUrl, db.Url), null, rabbitMq,
            [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, []), (BrokerRoles.Ingress, [])],
            new Dictionary<string, string?> { ["REDIS_URL"] = redis });
    }

    private static HttpClient Client(Microsoft.Extensions.Hosting.IHost host) =>
        new() { BaseAddress = new Uri(BrokerApp.Addresses(host)[0] + "/"), Timeout = TimeSpan.FromSeconds(60) };
}
