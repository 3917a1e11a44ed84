using System.Net;
using System.Security.Cryptography;
using System.Text;
using Broker.Contracts.Billing;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Keys;

/// <summary>Virtual keys end to end on one embedded broker with a real PostgreSQL database of the test's own.</summary>
[Trait("Category", "Integration")]
public sealed class KeyLifecycleTests
{
    [Fact]
    public async Task GenerateKey_UseInfoUpdateListDelete_WorksEndToEndAndNoSecretIsLogged()
    {
        var logs = LogCapture.Create();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url), settings: logs.Settings);

        var (status, created, _) = await PostAsync(broker.Http, "key/generate", MasterKey, new
        {
            key_alias = "ci-key",
            models = new[] { "gpt-4o" },
            max_budget = 10.0,
            duration = "30d",
            metadata = new { owner = "ci" },
            rpm_limit = 1000,
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var key = created!["key"]!.GetValue<string>();
        Assert.StartsWith("sk-", key);
        Assert.True(key.Length >= 40);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        Assert.Equal(hash, created["token"]!.GetValue<string>());
        Assert.Equal("ci-key", created["key_alias"]!.GetValue<string>());
        Assert.True(DateTimeOffset.Parse(created["expires"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddDays(29));
        // stored only as its hash
        Assert.Equal(1L, await db.ScalarAsync<long>($"SELECT count(*) FROM broker_keys WHERE token_hash = '{hash}'"));
        Assert.Equal(0L, await db.ScalarAsync<long>($"SELECT count(*) FROM broker_keys WHERE position('{key}' in row(broker_keys.*)::text) > 0"));

        var (chat, answer, response) = await ChatAsync(broker.Http, key);
        Assert.Equal(HttpStatusCode.OK, chat);
        Assert.NotNull(answer!["choices"]);
        Assert.Equal("1000", response.Headers.GetValues("x-ratelimit-limit-requests").Single());

        var (infoStatus, info) = await GetAsync(broker.Http, $"key/info?key={key}", MasterKey);
        Assert.Equal(HttpStatusCode.OK, infoStatus);
        Assert.Equal(10.0m, info!["info"]!["max_budget"]!.GetValue<decimal>());
        Assert.Equal("ci", info["info"]!["metadata"]!["owner"]!.GetValue<string>());
        Assert.Equal(["gpt-4o"], info["info"]!["models"]!.AsArray().Select(m => m!.GetValue<string>()));

        // a key may read its own info, but not manage keys
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(broker.Http, "key/info", key)).Status);
        var (forbidden, denied, _) = await PostAsync(broker.Http, "key/generate", key, new { });
        Assert.Equal(HttpStatusCode.Unauthorized, forbidden);
        AssertOpenAiError(denied, "auth_error");

        var (updated, _, _) = await PostAsync(broker.Http, "key/update", MasterKey, new { key, models = new[] { "o1" } });
        Assert.Equal(HttpStatusCode.OK, updated);
        var (refused, refusal, _) = await ChatAsync(broker.Http, key, "gpt-4o");
        Assert.Equal(HttpStatusCode.Unauthorized, refused);
        Assert.Equal("key_model_access_denied", AssertOpenAiError(refusal)["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, key, "o1")).Status);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "key/block", MasterKey, new { key })).Status);
        var (blockedStatus, blockedBody, _) = await ChatAsync(broker.Http, key, "o1");
        Assert.Equal(HttpStatusCode.Unauthorized, blockedStatus);
        AssertOpenAiError(blockedBody, "auth_error");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "key/unblock", MasterKey, new { key })).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, key, "o1")).Status);

        var (listStatus, list) = await GetAsync(broker.Http, "key/list", MasterKey);
        Assert.Equal(HttpStatusCode.OK, listStatus);
        Assert.Contains(hash, list!["keys"]!.AsArray().Select(k => k!.GetValue<string>()));
        Assert.Equal(1, list["total_count"]!.GetValue<int>());

        var (deleted, deletedBody, _) = await PostAsync(broker.Http, "key/delete", MasterKey, new { keys = new[] { key } });
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Equal([hash], deletedBody!["deleted_keys"]!.AsArray().Select(k => k!.GetValue<string>()));
        var (gone, goneBody, _) = await ChatAsync(broker.Http, key, "o1");
        Assert.Equal(HttpStatusCode.Unauthorized, gone);
        AssertOpenAiError(goneBody);

        var logged = logs.All;
        Assert.Contains($"Key {created["key_name"]!.GetValue<string>()} created", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(key, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(key[3..], logged, StringComparison.Ordinal);
        Assert.DoesNotContain(MasterKey, logged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_PastItsDuration_IsRefusedAsExpired()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { duration = "2s" });

        var refused = await EventuallyAsync(async () => (await ChatAsync(broker.Http, key)).Status == HttpStatusCode.BadRequest, TimeSpan.FromSeconds(20));

        Assert.True(refused);
        var (_, body, _) = await ChatAsync(broker.Http, key);
        var error = AssertOpenAiError(body, "expired_key");
        Assert.StartsWith("Authentication Error - Expired Key.", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task RegenerateKey_PathAndBodyForms_NewSecretKeepsSettingsOldOneRefused()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var first = await GenerateKeyAsync(broker.Http, new { key_alias = "rotating", max_budget = 7, models = new[] { "gpt-4o" } });
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, first)).Status);

        // LiteLLM's path form, no body
        using var request = new HttpRequestMessage(HttpMethod.Post, $"key/{first}/regenerate");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await broker.Http.SendAsync(request);
        var regenerated = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var second = regenerated["key"]!.GetValue<string>();
        Assert.NotEqual(first, second);
        Assert.StartsWith("sk-", second, StringComparison.Ordinal);
        Assert.Equal("rotating", regenerated["key_alias"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, first)).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, second)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, second, model: "o1")).Status);

        // the body form, with a change applied at the same time
        var (status, again, _) = await PostAsync(broker.Http, "key/regenerate", MasterKey, new { key = second, max_budget = 9 });
        Assert.Equal(HttpStatusCode.OK, status);
        var third = again!["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, second)).Status);
        var (_, info) = await GetAsync(broker.Http, $"key/info?key={third}", MasterKey);
        Assert.Equal(9m, info!["info"]!["max_budget"]!.GetValue<decimal>());
        Assert.Equal("rotating", info["info"]!["key_alias"]!.GetValue<string>());

        // only the admin regenerates keys; an unknown key is a 404
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(broker.Http, "key/regenerate", third, new { key = third })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(broker.Http, "key/regenerate", MasterKey, new { key = first })).Status);
    }

    [Fact]
    public async Task Key_UnknownOrWithoutKey_IsRefusedInOpenAiShape()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));

        var (unknown, body, _) = await ChatAsync(broker.Http, "sk-not-a-real-key-000000000000");
        var (none, noneBody, _) = await ChatAsync(broker.Http, null);

        Assert.Equal(HttpStatusCode.Unauthorized, unknown);
        Assert.DoesNotContain("sk-not-a-real-key", AssertOpenAiError(body)["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, none);
        AssertOpenAiError(noneBody);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Models_AccessGroupAndTeamModels_ScopeWhatAKeyCanCall()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var grouped = await GenerateKeyAsync(broker.Http, new { models = new[] { "beta-models" } });
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "team/new", MasterKey, new { team_id = "t-mini", models = new[] { "gpt-4o-mini" } })).Status);
        var teamKey = await GenerateKeyAsync(broker.Http, new { team_id = "t-mini" });

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, grouped, "gpt-4o")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, grouped, "gpt-4o-mini")).Status);
        var (denied, body, _) = await ChatAsync(broker.Http, grouped, "o1");
        Assert.Equal(HttpStatusCode.Unauthorized, denied);
        Assert.Contains("Tried to access o1", AssertOpenAiError(body, "key_model_access_denied")["message"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, teamKey, "gpt-4o-mini")).Status);
        var (teamDenied, teamBody, _) = await ChatAsync(broker.Http, teamKey, "gpt-4o");
        Assert.Equal(HttpStatusCode.Unauthorized, teamDenied);
        AssertOpenAiError(teamBody, "team_model_access_denied");
    }

    [Fact]
    public async Task Budget_SpendOverMaxBudgetOfKeyUserOrTeam_RefusedLikeLiteLlm()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var keyOver = await GenerateKeyAsync(broker.Http, new { max_budget = 1.5 });
        var (_, userNew, _) = await PostAsync(broker.Http, "user/new", MasterKey, new { user_id = "u-over", max_budget = 2 });
        var userKey = userNew!["key"]!.GetValue<string>();
        await PostAsync(broker.Http, "team/new", MasterKey, new { team_id = "t-over", max_budget = 3 });
        var teamKey = await GenerateKeyAsync(broker.Http, new { team_id = "t-over" });
        var resetKey = await GenerateKeyAsync(broker.Http, new { max_budget = 1, budget_duration = "30d" });
        await db.ExecuteAsync("UPDATE broker_keys SET spend = 1.75 WHERE max_budget = 1.5");
        await db.ExecuteAsync("UPDATE broker_users SET spend = 2 WHERE user_id = 'u-over'");
        await db.ExecuteAsync("UPDATE broker_teams SET spend = 4.25 WHERE team_id = 't-over'");
        // spend over budget but the period is over: Billing has not reset it yet, so it counts as 0
        await db.ExecuteAsync("UPDATE broker_keys SET spend = 5, budget_reset_at = now() - interval '1 minute' WHERE budget_duration = '30d'");

        var (keyStatus, keyBody, _) = await ChatAsync(broker.Http, keyOver);
        var (userStatus, userBody, _) = await ChatAsync(broker.Http, userKey);
        var (teamStatus, teamBody, _) = await ChatAsync(broker.Http, teamKey);
        var (resetStatus, _, _) = await ChatAsync(broker.Http, resetKey);

        Assert.Equal(HttpStatusCode.BadRequest, keyStatus);
        Assert.Equal("ExceededTokenBudget: Current spend for token: 1.75; Max Budget for Token: 1.5",
            AssertOpenAiError(keyBody, "budget_exceeded")["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, userStatus);
        Assert.Equal("ExceededBudget: User=u-over over budget. Spend=2.0, Budget=2.0",
            AssertOpenAiError(userBody, "budget_exceeded")["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, teamStatus);
        Assert.Equal("Budget has been exceeded! Team=t-over Current cost: 4.25, Max budget: 3.0",
            AssertOpenAiError(teamBody, "budget_exceeded")["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, resetStatus);
        Assert.Empty(upstream.Requests.Where(r => r.Body["model"]?.GetValue<string>() is not null).Skip(1));
    }

    [Fact]
    public async Task SpendTotalsChanged_OverTheKeysBudget_RefusesTheCachedKey()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = 1 });
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, key)).Status);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

        // Billing's event only (the row is untouched): the Ingress's cached copy must take the new total
        await broker.Hosts[0].Services.GetRequiredService<IBus>().Publish(new SpendTotalsChanged
        {
            Totals = [new EntitySpend { EntityType = "key", EntityId = hash, Spend = 1.25m }],
        });

        Assert.True(await EventuallyAsync(async () => (await ChatAsync(broker.Http, key)).Status == HttpStatusCode.BadRequest, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task UsersAndTeams_NewInfoUpdateDelete_KeysFollowTheirOwner()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));

        var (teamStatus, team, _) = await PostAsync(broker.Http, "team/new", MasterKey, new { team_alias = "research", max_budget = 100, rpm_limit = 50 });
        Assert.Equal(HttpStatusCode.OK, teamStatus);
        var teamId = team!["team_id"]!.GetValue<string>();
        var (userStatus, user, _) = await PostAsync(broker.Http, "user/new", MasterKey, new { user_email = "a@example.com", teams = new[] { teamId } });
        Assert.Equal(HttpStatusCode.OK, userStatus);
        var userId = user!["user_id"]!.GetValue<string>();
        var userKey = user["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, userKey)).Status);

        var (infoStatus, info) = await GetAsync(broker.Http, $"user/info?user_id={userId}", MasterKey);
        Assert.Equal(HttpStatusCode.OK, infoStatus);
        Assert.Equal("a@example.com", info!["user_info"]!["user_email"]!.GetValue<string>());
        Assert.Single(info["keys"]!.AsArray());
        Assert.Equal(teamId, info["teams"]![0]!["team_id"]!.GetValue<string>());

        var (teamUpdate, updatedTeam, _) = await PostAsync(broker.Http, "team/update", MasterKey, new { team_id = teamId, max_budget = 5 });
        Assert.Equal(HttpStatusCode.OK, teamUpdate);
        Assert.Equal(5m, updatedTeam!["data"]!["max_budget"]!.GetValue<decimal>());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "user/update", MasterKey, new { user_id = userId, models = new[] { "o1" } })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, userKey, "gpt-4o")).Status);

        var (teamInfoStatus, teamInfo) = await GetAsync(broker.Http, $"team/info?team_id={teamId}", MasterKey);
        Assert.Equal(HttpStatusCode.OK, teamInfoStatus);
        Assert.Equal("research", teamInfo!["team_info"]!["team_alias"]!.GetValue<string>());

        var (deleted, deletedBody, _) = await PostAsync(broker.Http, "user/delete", MasterKey, new { user_ids = new[] { userId } });
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Equal([userId], deletedBody!["deleted_users"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, userKey, "o1")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "team/delete", MasterKey, new { team_ids = new[] { teamId } })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(broker.Http, $"team/info?team_id={teamId}", MasterKey)).Status);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_teams"));
    }

    [Fact]
    public async Task Aliases_KeyAliasForAModel_RequestGoesToTheTargetModel()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { models = new[] { "o1" }, aliases = new Dictionary<string, string> { ["my-model"] = "o1" } });

        var (status, body, _) = await ChatAsync(broker.Http, key, "my-model");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotNull(body!["choices"]);
        Assert.Equal("o1", Assert.Single(upstream.Requests).Body["model"]!.GetValue<string>());
    }
}
