using System.Diagnostics;
using System.Net;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Keys;

/// <summary>PostgreSQL stopped mid-test (a private server, never the shared one) with allow_requests_on_db_unavailable on and off.</summary>
[Trait("Category", "Integration")]
public sealed class DatabaseOutageTests
{
    private static readonly Dictionary<string, string?> ShortCache = new()
    {
        // the process's own copy of a key goes stale after a second, so the next request must ask the database
        ["Auth:KeyCacheSeconds"] = "1",
    };

    [Fact]
    public async Task DatabaseDown_AllowOn_SeenKeysAndMasterKeyWorkUnseenKeyGets503Quickly()
    {
        await using var pg = await PrivatePostgres.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml(upstream.BaseUrl, pg.Url, "  allow_requests_on_db_unavailable: true"), settings: ShortCache);
        var seen = await GenerateKeyAsync(broker.Http, new { });
        var unseen = await GenerateKeyAsync(broker.Http, new { });
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, seen)).Status);

        await pg.StopServerAsync();
        await Task.Delay(1500);
        var watch = Stopwatch.StartNew();
        var seenAfter = await ChatAsync(broker.Http, seen);
        var unseenAfter = await ChatAsync(broker.Http, unseen);
        var master = await ChatAsync(broker.Http, MasterKey);
        watch.Stop();

        Assert.Equal(HttpStatusCode.OK, seenAfter.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unseenAfter.Status);
        Assert.Equal("database_unavailable", AssertOpenAiError(unseenAfter.Body)["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, master.Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"requests waited {watch.Elapsed} on a database that is down");

        // back up: new keys are checked again
        await pg.StartServerAsync();
        Assert.True(await EventuallyAsync(async () => (await ChatAsync(broker.Http, unseen)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task DatabaseDown_AllowOff_KeysGetAClear503AndMasterKeyWorks()
    {
        await using var pg = await PrivatePostgres.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, pg.Url), settings: ShortCache);
        var key = await GenerateKeyAsync(broker.Http, new { });
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, key)).Status);

        await pg.StopServerAsync();
        await Task.Delay(1500);
        var watch = Stopwatch.StartNew();
        var refused = await ChatAsync(broker.Http, key);
        watch.Stop();
        var master = await ChatAsync(broker.Http, MasterKey);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Contains("allow_requests_on_db_unavailable", AssertOpenAiError(refused.Body, "service_unavailable")["message"]!.GetValue<string>());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"the request waited {watch.Elapsed} on a database that is down");
        Assert.Equal(HttpStatusCode.OK, master.Status);
    }
}
