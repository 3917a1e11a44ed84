using Broker.Config;
using Broker.Contracts.Identity;
using Broker.Ingress.Errors;
using Broker.Ingress.Keys;

namespace Broker.Ingress.Auth;

/// <summary>
/// Budgets as LiteLLM enforces them, with its error texts: a key's, its user's and team's <c>max_budget</c> against
/// their spend since the last reset, then the proxy-wide <c>litellm_settings.max_budget</c>. Checked on every request
/// (<see cref="AuthFilter"/>) and on every batch line before it runs, billed to the key that submitted the batch.
/// </summary>
public sealed class Budgets(IProxyConfigProvider config, IdentityCache cache, TimeProvider time)
{
    /// <summary>The refusal for the first budget of key, user or team that is spent, else null.</summary>
    public static OpenAiErrorResult? Refusal(KeyRecord? key, UserRecord? user, TeamRecord? team, DateTimeOffset now)
    {
        if (key is { MaxBudget: { } keyMax } && Spend(key.Spend, key.BudgetResetAt, now) is var keySpend && keySpend >= keyMax)
        {
            return AuthErrors.Budget($"ExceededTokenBudget: Current spend for token: {AuthErrors.Amount(keySpend)}; Max Budget for Token: {AuthErrors.Amount(keyMax)}");
        }

        if (user is { MaxBudget: { } userMax } && Spend(user.Spend, user.BudgetResetAt, now) is var userSpend && userSpend >= userMax)
        {
            return AuthErrors.Budget($"ExceededBudget: User={user.UserId} over budget. Spend={AuthErrors.Amount(userSpend)}, Budget={AuthErrors.Amount(userMax)}");
        }

        if (team is { MaxBudget: { } teamMax } && Spend(team.Spend, team.BudgetResetAt, now) is var teamSpend && teamSpend >= teamMax)
        {
            return AuthErrors.Budget($"Budget has been exceeded! Team={team.TeamId} Current cost: {AuthErrors.Amount(teamSpend)}, Max budget: {AuthErrors.Amount(teamMax)}");
        }

        return null;
    }

    /// <summary>The proxy-wide budget's refusal once it is spent (every caller but the admin), else null.</summary>
    public async Task<OpenAiErrorResult?> ProxyRefusalAsync(CancellationToken cancellationToken)
    {
        var current = config.Current;
        if ((current.LitellmSettings.MaxBudget ?? current.GeneralSettings.BudgetLocal) is { } proxyMax && proxyMax > 0
            && await cache.GetProxySpendAsync(cancellationToken) is { } proxy
            && Spend(proxy.Spend, proxy.BudgetResetAt, time.GetUtcNow()) is var proxySpend && proxySpend >= proxyMax)
        {
            return AuthErrors.Budget($"Budget has been exceeded! Current cost: {AuthErrors.Amount(proxySpend)}, Max budget: {AuthErrors.Amount(proxyMax)}");
        }

        return null;
    }

    /// <summary>
    /// A batch line's caller, as it stands now: its key, user and team budgets, then the proxy's. A caller the
    /// database cannot be asked about is let through (its batch was accepted; spend is still recorded).
    /// </summary>
    public async Task<OpenAiErrorResult?> CallerRefusalAsync(Caller? caller, CancellationToken cancellationToken)
    {
        if (caller is null)
        {
            return null; // the master key
        }

        var key = caller.KeyHash is { } hash ? (await cache.GetKeyAsync(hash, cancellationToken)).Record : null;
        var user = caller.UserId is { } userId ? (await cache.GetUserAsync(userId, cancellationToken)).Record : null;
        var team = caller.TeamId is { } teamId ? (await cache.GetTeamAsync(teamId, cancellationToken)).Record : null;
        return Refusal(key, user, team, time.GetUtcNow()) ?? await ProxyRefusalAsync(cancellationToken);
    }

    /// <summary>Spend since the last reset: a reset time that has passed means Billing has not reset it yet, so it counts as 0.</summary>
    private static decimal Spend(decimal spend, DateTimeOffset? resetAt, DateTimeOffset now) =>
        resetAt is { } reset && reset <= now ? 0 : spend;
}
