using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Cli;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Keys;

/// <summary><c>broker create-key|create-user|create-team</c> against a running gateway, with LiteLLM's CLI environment variables.</summary>
[Trait("Category", "Integration")]
public sealed class ManagementCliTests
{
    [Fact]
    public async Task CreateKeyUserTeam_AgainstRunningGateway_PrintTheNewEntitiesAndTheKeyWorks()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var env = new Dictionary<string, string> { ["LITELLM_PROXY_URL"] = broker.BaseUrl, ["LITELLM_PROXY_API_KEY"] = MasterKey };

        var team = await RunAsync(["create-team", "--team_id", "cli-team", "--max_budget", "50"], env);
        var user = await RunAsync(["create-user", "--user_id", "cli-user", "--teams", "cli-team"], env);
        var key = await RunAsync(["create-key", "--max_budget", "10.00", "--duration", "30d", "--models", "gpt-4o,o1", "--team-id", "cli-team"], env);
        var noKey = await RunAsync(["create-key"], new Dictionary<string, string> { ["LITELLM_PROXY_URL"] = broker.BaseUrl });
        var badNumber = await RunAsync(["create-key", "--max_budget", "ten"], env);

        Assert.Equal(0, team.Code);
        Assert.Equal(50m, JsonNode.Parse(team.Out)!["max_budget"]!.GetValue<decimal>());
        Assert.Equal(0, user.Code);
        Assert.Equal("cli-user", JsonNode.Parse(user.Out)!["user_id"]!.GetValue<string>());
        Assert.Equal(0, key.Code);
        var created = JsonNode.Parse(key.Out)!;
        Assert.Equal(10m, created["max_budget"]!.GetValue<decimal>());
        Assert.Equal("cli-team", created["team_id"]!.GetValue<string>());
        Assert.NotNull(created["expires"]);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, created["key"]!.GetValue<string>(), "o1")).Status);
        Assert.Equal(2, noKey.Code);
        Assert.Contains("LITELLM_PROXY_API_KEY", noKey.Err, StringComparison.Ordinal);
        Assert.Equal(2, badNumber.Code);
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(string[] args, Dictionary<string, string> env)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await BrokerCli.InvokeAsync(args, stdout, stderr, n => env.TryGetValue(n, out var v) ? v : null);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
