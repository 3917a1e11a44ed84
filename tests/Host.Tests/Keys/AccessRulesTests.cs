using System.Net;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Keys;

/// <summary>allowed_ips (with trusted proxies), allowed_routes, admin_only_routes, key allowed_routes and enforce_user_param.</summary>
[Trait("Category", "Integration")]
public sealed class AccessRulesTests
{
    [Fact]
    public async Task AllowedIps_ClientOutsideTheList_RefusedUnlessATrustedProxyForwardsAnAllowedAddress()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, null, """
              allowed_ips: ["10.0.0.0/8"]
              use_x_forwarded_for: true
              trusted_proxies: ["127.0.0.1/32"]
            """));
        await using var untrusting = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, null, """
              allowed_ips: ["10.0.0.0/8"]
              use_x_forwarded_for: true
            """));

        var direct = await ChatAsync(broker.Http, MasterKey);
        var forwarded = await ChatAsync(broker.Http, MasterKey, headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "10.1.2.3" });
        var forwardedOutside = await ChatAsync(broker.Http, MasterKey, headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "192.168.1.1" });
        var spoofed = await ChatAsync(untrusting.Http, MasterKey, headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "10.1.2.3" });

        Assert.Equal(HttpStatusCode.Forbidden, direct.Status);
        Assert.Contains("127.0.0.1", AssertOpenAiError(direct.Body)["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, forwarded.Status);
        Assert.Equal(HttpStatusCode.Forbidden, forwardedOutside.Status);
        Assert.Equal(HttpStatusCode.Forbidden, spoofed.Status);
    }

    [Fact]
    public async Task Routes_AdminOnlyAllowedAndPerKey_RefuseKeysButNotTheMasterKey()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, """
              admin_only_routes: ["/models"]
              allowed_routes: ["openai_routes", "/key/info"]
            """));
        var key = await GenerateKeyAsync(broker.Http, new { });
        var chatOnly = await GenerateKeyAsync(broker.Http, new { allowed_routes = new[] { "/v1/embeddings" } });

        var (models, modelsBody) = await GetAsync(broker.Http, "v1/models", key);
        var (masterModels, _) = await GetAsync(broker.Http, "v1/models", MasterKey);
        var (queues, queuesBody) = await GetAsync(broker.Http, "health", key);
        var chat = await ChatAsync(broker.Http, key);
        var perKey = await ChatAsync(broker.Http, chatOnly);

        Assert.Equal(HttpStatusCode.Forbidden, models);
        Assert.Contains("admin_only_routes", AssertOpenAiError(modelsBody)["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, masterModels);
        Assert.Equal(HttpStatusCode.Forbidden, queues);
        Assert.Contains("allowed_routes", AssertOpenAiError(queuesBody)["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, chat.Status);
        Assert.Equal(HttpStatusCode.Forbidden, perKey.Status);
        AssertOpenAiError(perKey.Body);
    }

    [Fact]
    public async Task AdminRoutesAndModelList_VirtualKey_SeesOnlyItsModelsAndNoAdminRoutes()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { models = new[] { "beta-models" } });

        var (modelsStatus, models) = await GetAsync(broker.Http, "v1/models", key);
        var (allStatus, all) = await GetAsync(broker.Http, "v1/models", MasterKey);

        Assert.Equal(HttpStatusCode.OK, modelsStatus);
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], models!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).Order());
        Assert.Equal(HttpStatusCode.OK, allStatus);
        Assert.Equal(3, all!["data"]!.AsArray().Count);
        // the routing matches paths case-insensitively and with a trailing slash: so do the rules
        foreach (var route in new[] { "model/list", "queues", "cooldowns", "spend/logs", "Spend/Logs", "spend/logs/", "QUEUES" })
        {
            var (status, body) = await GetAsync(broker.Http, route, key);
            Assert.Equal(HttpStatusCode.Forbidden, status);
            AssertOpenAiError(body, "auth_error");
        }

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(broker.Http, "model/list", MasterKey)).Status);
    }

    [Fact]
    public async Task KeyGenerationSettings_PersonalKeys_AllowedRolesCreateTheirOwnWithRequiredParams()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, """
              key_generation_settings:
                personal_key_generation:
                  allowed_user_roles: ["internal_user"]
                  required_params: ["key_alias"]
            """));
        var (_, member, _) = await PostAsync(broker.Http, "user/new", MasterKey, new { user_id = "u-member" });
        var (_, viewer, _) = await PostAsync(broker.Http, "user/new", MasterKey, new { user_id = "u-viewer", user_role = "internal_user_viewer" });
        var memberKey = member!["key"]!.GetValue<string>();
        var viewerKey = viewer!["key"]!.GetValue<string>();

        var own = await PostAsync(broker.Http, "key/generate", memberKey, new { key_alias = "member-laptop" });
        var missing = await PostAsync(broker.Http, "key/generate", memberKey, new { });
        var forOther = await PostAsync(broker.Http, "key/generate", memberKey, new { key_alias = "x", user_id = "u-viewer" });
        var notAllowed = await PostAsync(broker.Http, "key/generate", viewerKey, new { key_alias = "viewer-key" });
        var admin = await PostAsync(broker.Http, "key/generate", MasterKey, new { });

        Assert.Equal(HttpStatusCode.OK, own.Status);
        Assert.Equal("u-member", own.Body!["user_id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, own.Body["key"]!.GetValue<string>())).Status);
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Contains("key_alias", AssertOpenAiError(missing.Body)["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, forOther.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, notAllowed.Status);
        AssertOpenAiError(notAllowed.Body, "auth_error");
        Assert.Equal(HttpStatusCode.OK, admin.Status);
    }

    [Fact]
    public async Task EnforceUserParam_KeyRequestWithoutUser_Refused()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, "  enforce_user_param: true"));
        var key = await GenerateKeyAsync(broker.Http, new { });

        var without = await ChatAsync(broker.Http, key);
        var with = await ChatAsync(broker.Http, key, user: "end-user-1");

        Assert.Equal(HttpStatusCode.BadRequest, without.Status);
        Assert.Equal("user", AssertOpenAiError(without.Body)["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, with.Status);
    }
}
