using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Reload.ReloadHttp;

namespace Broker.Host.Tests.Reload;

/// <summary>
/// Reload and runtime groups with the roles in separate hosts over RabbitMQ (one virtual host per test): a reload on
/// the Ingress is announced on the bus and the workers re-read their file and consume the new group's queue; a worker
/// started with <c>--groups</c> naming a group that exists only as a runtime model serves it once it is created.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DistributedReloadTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task ReloadRoute_OnTheIngress_AnnouncedSoWorkersConsumeTheNewGroup()
    {
        await using var first = await FakeUpstream.StartOpenAiAsync();
        await using var second = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            // no file watch, no periodic check: only the bus can tell the workers the file changed
            var settings = new Dictionary<string, string?> { ["Config:WatchFile"] = "false", ["Config:ReloadCheckSeconds"] = "0" };
            var yaml = ConfigReloadTests.Yaml(("first", first, null)) + $"  database_url: \"{db.Url}\"\n";
            await using var broker = await BrokerRunner.StartAsync(yaml, null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])], settings);
            await File.WriteAllTextAsync(broker.ConfigPath,
                ConfigReloadTests.Yaml(("first", first, null), ("second", second, null)) + $"  database_url: \"{db.Url}\"\n");

            using var reloaded = await PostAsync(broker.Http, "config/reload", null);
            var body = (await reloaded.Content.ReadFromJsonAsync<JsonObject>())!;

            Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
            Assert.Equal(["second"], body["added"]!.AsArray().Select(n => n!.GetValue<string>()));
            await WaitForChatAsync(broker.Http, "second", HttpStatusCode.OK);
            Assert.NotEmpty(second.Requests);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task WorkersGroups_NamesRuntimeOnlyGroup_ServedOnceCreated()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var runtime = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            var yaml = ConfigReloadTests.Yaml(("first", upstream, null)) + $"  database_url: \"{db.Url}\"\n  store_model_in_db: true\n";
            await using var broker = await BrokerRunner.StartAsync(yaml, null, url,
                [(BrokerRoles.Workers, ["first", "runtime-only"]), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])]);

            using var created = await PostAsync(broker.Http, "model/new", new JsonObject
            {
                ["model_name"] = "runtime-only",
                ["litellm_params"] = new JsonObject { ["model"] = "openai/gpt-4o-mini", ["api_base"] = runtime.BaseUrl + "/v1", ["api_key"] = "sk-runtime" },
            });

            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            await WaitForChatAsync(broker.Http, "runtime-only", HttpStatusCode.OK);
            Assert.NotEmpty(runtime.Requests);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }
}
