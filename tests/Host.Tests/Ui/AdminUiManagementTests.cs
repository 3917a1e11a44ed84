using System.Globalization;
using System.Net;
using Microsoft.Playwright;

namespace Broker.Host.Tests.Ui;

/// <summary>
/// The admin UI's management views in a real browser against the shared in-process Broker: key edit and regenerate,
/// users, teams and their members, models with health and cooldowns, runtime models, and what a virtual key sees.
/// Every change is checked through the admin API the scripts use.
/// </summary>
[Collection(AdminUiCollection.Name)]
[Trait("Category", "Integration")]
public sealed class AdminUiManagementTests(AdminUiFixture fixture) : IAsyncLifetime
{
    private IPage _page = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_page is not null)
        {
            await _page.Context.CloseAsync();
        }

        Assert.Empty(fixture.Browser.OutsideRequests);
        Assert.Empty(fixture.Browser.PageErrors);
    }

    private string Url(string path) => fixture.Broker.BaseUrl.TrimEnd('/') + path;

    private static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    private async Task SignInAsAdminAsync(string path)
    {
        _page = await fixture.Browser.NewPageAsync();
        _page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, AdminUiFixture.MasterKey);
        if (path != "/ui/keys")
        {
            await _page.GotoAsync(Url(path));
        }
    }

    [Fact]
    public async Task EditKey_FromEditDialog_ModelsTeamBudgetLimitsAndExpirySaved()
    {
        var alias = NewId("ui-edit-");
        var secret = (await fixture.AdminPostAsync("key/generate", $$"""{"key_alias":"{{alias}}","models":["chat"]}"""))["key"]!.GetValue<string>();
        await SignInAsAdminAsync("/ui/keys");
        var edit = _page.GetByRole(AriaRole.Button, new() { Name = $"Edit key {alias}" });

        // keyboard: the dialog takes focus, Escape closes it and focus returns to the button that opened it
        await edit.FocusAsync();
        await _page.Keyboard.PressAsync("Enter");
        var dialog = _page.GetByRole(AriaRole.Dialog);
        await dialog.WaitForAsync();
        Assert.Equal("key_alias", await _page.EvaluateAsync<string>("document.activeElement.name"));
        await _page.Keyboard.PressAsync("Escape");
        await dialog.WaitForAsync(new() { State = WaitForSelectorState.Detached });
        Assert.Equal($"Edit key {alias}", await _page.EvaluateAsync<string>("document.activeElement.getAttribute('aria-label')"));

        await edit.ClickAsync();
        await dialog.GetByLabel("Models").FillAsync("chat, flaky");
        await dialog.GetByLabel("Team").SelectOptionAsync(AdminUiFixture.TeamId);
        await dialog.GetByLabel("Max budget (USD)").FillAsync("4.25");
        await dialog.GetByLabel("Budget resets every").FillAsync("30d");
        await dialog.GetByLabel("Requests per minute").FillAsync("11");
        await dialog.GetByLabel("Tokens per minute").FillAsync("2200");
        await dialog.GetByLabel("New expiry (from now)").FillAsync("10d");
        await UiBrowser.ScreenshotAsync(_page, "keys-edit-1280");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();

        await _page.Locator($"tr[data-alias='{alias}']", new() { HasText = "11 rpm, 2200 tpm" }).WaitForAsync();
        var row = await _page.Locator($"tr[data-alias='{alias}']").InnerTextAsync();
        Assert.Contains("$4.25 per 30d", row, StringComparison.Ordinal);
        Assert.Contains(AdminUiFixture.TeamAlias, row, StringComparison.Ordinal);
        var info = (await fixture.AdminGetAsync($"key/info?key={secret}"))["info"]!;
        Assert.Equal(new[] { "chat", "flaky" }, info["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(AdminUiFixture.TeamId, info["team_id"]!.GetValue<string>());
        Assert.Equal(4.25m, info["max_budget"]!.GetValue<decimal>());
        Assert.Equal("30d", info["budget_duration"]!.GetValue<string>());
        Assert.Equal(11, info["rpm_limit"]!.GetValue<long>());
        Assert.Equal(2200, info["tpm_limit"]!.GetValue<long>());
        var expires = DateTimeOffset.Parse(info["expires"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddDays(9), DateTimeOffset.UtcNow.AddDays(11));

        // emptied fields are cleared, "never" removes the expiry, and an empty expiry field keeps it
        await edit.ClickAsync();
        await dialog.GetByLabel("Max budget (USD)").FillAsync("");
        await dialog.GetByLabel("New expiry (from now)").FillAsync("never");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await _page.Locator($"tr[data-alias='{alias}'] td[data-label='Expires']:text-is('never')").WaitForAsync();
        info = (await fixture.AdminGetAsync($"key/info?key={secret}"))["info"]!;
        Assert.Null(info["max_budget"]);
        Assert.Null(info["expires"]);
        Assert.Equal(11, info["rpm_limit"]!.GetValue<long>());
    }

    [Fact]
    public async Task RegenerateKey_FromKeysView_NewSecretShownOnceAndOldOneRefused()
    {
        var alias = NewId("ui-regen-");
        var secret = (await fixture.AdminPostAsync("key/generate", $$"""{"key_alias":"{{alias}}","max_budget":5}"""))["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, await fixture.KeyInfoStatusAsync(secret));
        await SignInAsAdminAsync("/ui/keys");

        await _page.GetByRole(AriaRole.Button, new() { Name = $"Regenerate key {alias}" }).ClickAsync();

        var renewed = await _page.GetByTestId("new-key-secret").InnerTextAsync();
        Assert.StartsWith("sk-", renewed, StringComparison.Ordinal);
        Assert.NotEqual(secret, renewed);
        Assert.Equal(HttpStatusCode.Unauthorized, await fixture.KeyInfoStatusAsync(secret));
        Assert.Equal(HttpStatusCode.OK, await fixture.KeyInfoStatusAsync(renewed));
        // the key kept its settings under the new secret
        Assert.Equal(5m, (await fixture.AdminGetAsync($"key/info?key={renewed}"))["info"]!["max_budget"]!.GetValue<decimal>());
        await UiBrowser.ScreenshotAsync(_page, "keys-regenerated-1280");

        await _page.ReloadAsync();
        await _page.Locator($"tr[data-alias='{alias}']").WaitForAsync();
        Assert.DoesNotContain(renewed, await _page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Users_CreateEditDelete_FromUsersView()
    {
        var userId = NewId("ui-user-");
        await SignInAsAdminAsync("/ui/users");
        var form = _page.GetByTestId("create-user");

        await form.GetByLabel("User id").FillAsync(userId);
        await form.GetByLabel("Email").FillAsync($"{userId}@example.test");
        await form.GetByLabel("Name", new() { Exact = true }).FillAsync("Ada");
        await form.GetByLabel("Role").SelectOptionAsync("internal_user_viewer");
        await form.GetByLabel("Teams").FillAsync(AdminUiFixture.TeamId);
        await form.GetByLabel("Max budget (USD)").FillAsync("9");
        await form.GetByLabel("Also create a key for this user (shown once)").CheckAsync();
        await form.GetByRole(AriaRole.Button, new() { Name = "Create user" }).ClickAsync();

        var secret = await _page.GetByTestId("new-key-secret").InnerTextAsync();
        Assert.StartsWith("sk-", secret, StringComparison.Ordinal);
        var row = _page.Locator($"tr[data-id='{userId}']");
        await row.WaitForAsync();
        Assert.Contains(AdminUiFixture.TeamAlias, await row.InnerTextAsync(), StringComparison.Ordinal);
        var info = await fixture.AdminGetAsync($"user/info?user_id={userId}");
        Assert.Equal($"{userId}@example.test", info["user_info"]!["user_email"]!.GetValue<string>());
        Assert.Equal("internal_user_viewer", info["user_info"]!["user_role"]!.GetValue<string>());
        Assert.Equal(new[] { AdminUiFixture.TeamId }, info["user_info"]!["teams"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(9m, info["user_info"]!["max_budget"]!.GetValue<decimal>());
        Assert.Single(info["keys"]!.AsArray());
        await UiBrowser.ScreenshotAsync(_page, "users-created-1280");

        await _page.GetByRole(AriaRole.Button, new() { Name = $"Edit user {userId}" }).ClickAsync();
        var dialog = _page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("Name", new() { Exact = true }).FillAsync("Ada Lovelace");
        await dialog.GetByLabel("Max budget (USD)").FillAsync("12");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await _page.Locator($"tr[data-id='{userId}']", new() { HasText = "$12" }).WaitForAsync();
        info = await fixture.AdminGetAsync($"user/info?user_id={userId}");
        Assert.Equal("Ada Lovelace", info["user_info"]!["user_alias"]!.GetValue<string>());
        Assert.Equal(12m, info["user_info"]!["max_budget"]!.GetValue<decimal>());

        // deleting the user deletes its key too
        await _page.GetByRole(AriaRole.Button, new() { Name = $"Delete user {userId}" }).ClickAsync();
        await row.WaitForAsync(new() { State = WaitForSelectorState.Detached });
        Assert.DoesNotContain((await fixture.AdminGetAsync("user/list?page_size=100"))["users"]!.AsArray(), u => u!["user_id"]!.GetValue<string>() == userId);
        Assert.Equal(HttpStatusCode.Unauthorized, await fixture.KeyInfoStatusAsync(secret));
    }

    [Fact]
    public async Task Teams_CreateEditMembersDelete_FromTeamsView()
    {
        var teamId = NewId("ui-team-");
        var member = NewId("ui-member-");
        await fixture.AdminPostAsync("user/new", $$"""{"user_id":"{{member}}","user_alias":"Member {{member}}","auto_create_key":false}""");
        await SignInAsAdminAsync("/ui/teams");
        var form = _page.GetByTestId("create-team");

        await form.GetByLabel("Team id").FillAsync(teamId);
        await form.GetByLabel("Team name").FillAsync("Research");
        await form.GetByLabel("Models").FillAsync("chat");
        await form.GetByLabel("Max budget (USD)").FillAsync("20");
        await form.GetByLabel("Requests per minute").FillAsync("30");
        await form.GetByRole(AriaRole.Button, new() { Name = "Create team" }).ClickAsync();

        var row = _page.Locator($"tr[data-id='{teamId}']");
        await row.WaitForAsync();
        Assert.Contains("30 rpm", await row.InnerTextAsync(), StringComparison.Ordinal);
        var info = (await fixture.AdminGetAsync($"team/info?team_id={teamId}"))["team_info"]!;
        Assert.Equal("Research", info["team_alias"]!.GetValue<string>());
        Assert.Equal(20m, info["max_budget"]!.GetValue<decimal>());
        Assert.Equal(new[] { "chat" }, info["models"]!.AsArray().Select(m => m!.GetValue<string>()));

        await _page.GetByRole(AriaRole.Button, new() { Name = "Edit team Research" }).ClickAsync();
        var dialog = _page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("Team name").FillAsync("Research EU");
        await dialog.GetByLabel("Tokens per minute").FillAsync("5000");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await _page.Locator($"tr[data-id='{teamId}']", new() { HasText = "5000 tpm" }).WaitForAsync();
        info = (await fixture.AdminGetAsync($"team/info?team_id={teamId}"))["team_info"]!;
        Assert.Equal("Research EU", info["team_alias"]!.GetValue<string>());
        Assert.Equal(5000, info["tpm_limit"]!.GetValue<long>());

        // members: a user is added to the team and removed again (its teams, through /user/update)
        await _page.GetByRole(AriaRole.Button, new() { Name = "Members of team Research EU" }).ClickAsync();
        await dialog.GetByLabel("Add a member").SelectOptionAsync(member);
        await UiBrowser.ScreenshotAsync(_page, "teams-members-1280");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Add member" }).ClickAsync();
        await _page.Locator($"tr[data-id='{teamId}'] td[data-label='Members']:text-is('1')").WaitForAsync();
        Assert.Contains(teamId, (await fixture.AdminGetAsync($"user/info?user_id={member}"))["user_info"]!["teams"]!.AsArray().Select(t => t!.GetValue<string>()));

        await _page.GetByRole(AriaRole.Button, new() { Name = "Members of team Research EU" }).ClickAsync();
        await dialog.GetByTestId("team-members").Locator("tbody tr", new() { HasText = member }).WaitForAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = $"Remove {member} from team Research EU" }).ClickAsync();
        await _page.Locator($"tr[data-id='{teamId}'] td[data-label='Members']:text-is('0')").WaitForAsync();
        Assert.Empty((await fixture.AdminGetAsync($"user/info?user_id={member}"))["user_info"]!["teams"]!.AsArray());

        await _page.GetByRole(AriaRole.Button, new() { Name = "Delete team Research EU" }).ClickAsync();
        await row.WaitForAsync(new() { State = WaitForSelectorState.Detached });
        Assert.DoesNotContain((await fixture.AdminGetAsync("team/list")).AsArray(), t => t!["team_id"]!.GetValue<string>() == teamId);
    }

    [Fact]
    public async Task Models_EveryGroupAndDeployment_SecretsRedactedWithHealthAndCooldowns()
    {
        await SignInAsAdminAsync("/ui/models");

        var groups = _page.GetByTestId("groups-table");
        await groups.Locator("tbody tr", new() { HasText = "flaky" }).WaitForAsync();
        Assert.Equal(new[] { "flaky", "2", "1" }, (await groups.Locator("tbody tr", new() { HasText = "flaky" }).Locator("td").AllInnerTextsAsync()).Take(3));
        Assert.Equal(new[] { "chat", "1", "0" }, (await groups.Locator("tbody tr", new() { HasText = "chat" }).Locator("td").AllInnerTextsAsync()).Take(3));
        var deployments = _page.GetByTestId("models-table").Locator("tbody tr");
        Assert.Equal(3, await deployments.CountAsync());
        var limited = _page.Locator($"tr[data-id='{AdminUiFixture.LimitedDeploymentId}']");
        Assert.Contains("cooling down", await limited.Locator("td[data-label='Cooldown']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("—", await _page.Locator("tr[data-id='flaky-backup'] td[data-label='Cooldown']").InnerTextAsync());
        // secrets: shown redacted (their last characters), never whole
        var content = await _page.ContentAsync();
        foreach (var secret in new[] { "sk-upstream-secret-0042", "sk-limited-secret-0099", "sk-backup-secret-0077" })
        {
            Assert.DoesNotContain(secret, content, StringComparison.Ordinal);
        }

        Assert.Contains("0099", await limited.Locator("td[data-label='API key']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("read-only", await limited.InnerTextAsync(), StringComparison.Ordinal);

        await _page.GetByRole(AriaRole.Button, new() { Name = "Check health now" }).ClickAsync();
        await limited.Locator("td[data-label='Health'] .badge.bad").WaitForAsync(new() { Timeout = 60_000 });
        await _page.Locator("tr[data-id='flaky-backup'] td[data-label='Health'] .badge.ok").WaitForAsync();
        Assert.Equal("healthy", await deployments.Filter(new() { HasText = "openai/private-chat" }).Locator("td[data-label='Health']").InnerTextAsync());
        await UiBrowser.ScreenshotAsync(_page, "models-health-1280");
    }

    [Fact]
    public async Task RuntimeModels_AddEditDelete_FromModelsView()
    {
        var group = NewId("ui-runtime-");
        await SignInAsAdminAsync("/ui/models");
        await _page.GetByTestId("models-table").WaitForAsync();

        await _page.GetByRole(AriaRole.Button, new() { Name = "Add model" }).ClickAsync();
        var dialog = _page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("Model group").FillAsync(group);
        await dialog.GetByLabel("Provider model").FillAsync("openai/runtime-model");
        await dialog.GetByLabel("API base").FillAsync(fixture.UpstreamUrl);
        await dialog.GetByLabel("API key").FillAsync("sk-runtime-secret-1234");
        await dialog.GetByLabel("Requests per minute").FillAsync("40");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Add model" }).ClickAsync();

        var row = _page.GetByTestId("models-table").Locator("tbody tr", new() { HasText = group });
        await row.WaitForAsync();
        var id = await row.GetAttributeAsync("data-id");
        Assert.False(string.IsNullOrEmpty(id));
        Assert.Contains("runtime", await row.Locator("td[data-label='Source']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-runtime-secret-1234", await _page.ContentAsync(), StringComparison.Ordinal);
        var stored = (await fixture.AdminGetAsync($"model/info?litellm_model_id={id}"))["data"]![0]!;
        Assert.Equal(group, stored["model_name"]!.GetValue<string>());
        Assert.Equal(40, stored["litellm_params"]!["rpm"]!.GetValue<int>());
        Assert.True(stored["model_info"]!["db_model"]!.GetValue<bool>());
        await UiBrowser.ScreenshotAsync(_page, "models-runtime-1280");

        // an edit that leaves the key empty keeps it
        await _page.GetByRole(AriaRole.Button, new() { Name = $"Edit model {id}" }).ClickAsync();
        await dialog.GetByLabel("Requests per minute").FillAsync("50");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await _page.GetByTestId("models-table").Locator("tbody tr", new() { HasText = "50 rpm" }).WaitForAsync();
        stored = (await fixture.AdminGetAsync($"model/info?litellm_model_id={id}"))["data"]![0]!;
        Assert.Equal(50, stored["litellm_params"]!["rpm"]!.GetValue<int>());
        Assert.EndsWith("1234", stored["litellm_params"]!["api_key"]!.GetValue<string>(), StringComparison.Ordinal);

        await _page.GetByRole(AriaRole.Button, new() { Name = $"Delete model {id}" }).ClickAsync();
        await row.WaitForAsync(new() { State = WaitForSelectorState.Detached });
        Assert.Empty((await fixture.AdminGetAsync($"model/info?litellm_model_id={id}"))["data"]!.AsArray());
    }

    [Fact]
    public async Task VirtualKey_SignedIn_SeesOnlyItsOwnKeysAndSpend()
    {
        _page = await fixture.Browser.NewPageAsync();
        await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, fixture.UserKey);

        await _page.GetByRole(AriaRole.Heading, new() { Name = "My key" }).WaitForAsync();
        Assert.Contains("fixture-user-key-a", await _page.GetByTestId("my-key").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("$0", await _page.GetByTestId("my-spend").InnerTextAsync());
        var mine = _page.GetByTestId("my-keys").Locator("tbody tr");
        await mine.First.WaitForAsync();
        Assert.Equal(new[] { "fixture-user-key-a", "fixture-user-key-b" }, (await mine.Locator("td[data-label='Alias']").AllInnerTextsAsync()).Order(StringComparer.Ordinal));
        var content = await _page.ContentAsync();
        Assert.DoesNotContain("fixture-nobodys-key", content, StringComparison.Ordinal);
        Assert.DoesNotContain("fixture-team-key", content, StringComparison.Ordinal);
        await UiBrowser.ScreenshotAsync(_page, "my-key-1280");

        // no admin view is offered, asking for one lands on the key's own view, and the admin API refuses the session
        var nav = _page.GetByRole(AriaRole.Navigation, new() { Name = "Sections" });
        foreach (var view in new[] { "Spend", "Users", "Teams", "Queues" })
        {
            Assert.Equal(0, await nav.GetByRole(AriaRole.Link, new() { Name = view, Exact = true }).CountAsync());
        }

        await _page.GotoAsync(Url("/ui/users"));
        await _page.GetByRole(AriaRole.Heading, new() { Name = "My key" }).WaitForAsync();
        Assert.EndsWith("/ui/keys", _page.Url, StringComparison.Ordinal);
        foreach (var route in new[] { "/key/list", "/user/list", "/team/list", "/spend/logs", "/global/spend/report" })
        {
            var status = await _page.EvaluateAsync<int>($"async () => (await fetch('{route}')).status");
            Assert.True(status is 401 or 403, $"{route} answered {status} to a virtual key's session");
        }
    }
}
