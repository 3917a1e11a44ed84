using Broker.Billing.Budgets;
using Broker.Billing.Persistence;
using Broker.Config.Loading;
using Broker.Config.Model;

namespace Broker.Billing.Tests.Budgets;

public sealed class BudgetAlertsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);

    private static ProxyConfig Config(string extra = "")
    {
        var loaded = ProxyConfigLoader.LoadText($$"""
            model_list:
              - model_name: m
                litellm_params: { model: openai/gpt-4o, api_key: k }
            {{extra}}
            """, "test.yaml", _ => null);
        Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
        return loaded.Config!;
    }

    [Fact]
    public void For_SpendReachesBuffer_RaisesThresholdCrossedOnce()
    {
        var config = Config("general_settings:\n  budget_alert_buffer: 0.5");

        var alerts = BudgetAlerts.For([new EntityTotal("key", "h1", 5.5m, 1m, null, MaxBudget: 10m, UserId: "u", TeamId: "t")], config, Now);
        var later = BudgetAlerts.For([new EntityTotal("key", "h1", 6.5m, 1m, null, MaxBudget: 10m)], config, Now);

        var alert = Assert.Single(alerts);
        Assert.Equal(("budget_alerts", "threshold_crossed", "h1", "u", "t", "10"),
            (alert.Kind, alert.Data["event"], alert.Data["token"], alert.Data["user_id"], alert.Data["team_id"], alert.Data["max_budget"]));
        Assert.Empty(later);
    }

    [Fact]
    public void For_KeyCrossesBudget_CarriesKeyAliasAndUserEmail()
    {
        var alert = Assert.Single(BudgetAlerts.For(
            [new EntityTotal("key", "h1", 10m, 2m, null, MaxBudget: 10m, UserId: "u", KeyAlias: "my-key", UserEmail: "u@example.com")], Config(), Now));

        Assert.Equal(("my-key", "u@example.com"), (alert.Data["key_alias"], alert.Data["user_email"]));
    }

    [Fact]
    public void For_SpendReachesMaxBudget_RaisesBudgetCrossed()
    {
        var alert = Assert.Single(BudgetAlerts.For([new EntityTotal("team", "t1", 10m, 2m, Now.AddDays(3), MaxBudget: 10m)], Config(), Now));

        Assert.Equal("budget_crossed", alert.Data["event"]);
        Assert.Equal("t1", alert.Data["team_id"]);
        Assert.Contains(Now.AddDays(3).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), alert.DedupeKey, StringComparison.Ordinal);
    }

    [Fact]
    public void For_SoftBudgetSet_UsesItInsteadOfBuffer() =>
        Assert.Equal("threshold_crossed", Assert.Single(BudgetAlerts.For(
            [new EntityTotal("user", "u1", 3m, 1m, null, MaxBudget: 10m, SoftBudget: 2.5m)], Config(), Now)).Data["event"]);

    [Fact]
    public void For_ProxyBudgetFromLitellmSettings_RaisesForTheProxy() =>
        Assert.Equal("budget_crossed", Assert.Single(BudgetAlerts.For(
            [new EntityTotal("proxy", "global", 101m, 5m, null)], Config("litellm_settings:\n  max_budget: 100"), Now)).Data["event"]);

    [Fact]
    public void For_NoBudget_RaisesNothing() =>
        Assert.Empty(BudgetAlerts.For([new EntityTotal("key", "h", 1000m, 1000m, null)], Config(), Now));
}
