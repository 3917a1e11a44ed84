using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Contracts.Identity;
using Broker.Ingress.Errors;
using Broker.Ingress.Keys;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// Budgets as LiteLLM enforces them, with its error texts: a key's, its user's and team's <c>max_budget</c> against
/// their spend since the last reset, then the proxy-wide <c>litellm_settings.max_budget</c>. Checked on every request
/// (<see cref="AuthFilter"/>) and on every batch line before it runs, billed to the key that submitted the batch.
/// Requests reserve their estimated cost against those budgets before they are queued (<see cref="AdmitAsync"/>,
/// <see cref="BudgetReservations"/>), so concurrent requests and spend Billing has not written yet count too.
/// </summary>
public sealed class Budgets(
    IProxyConfigProvider config, IdentityCache cache, BudgetReservations reservations, RateLimiter limiter, AuthOptions options, TimeProvider time)
{
    /// <summary>
    /// Reserves the request's estimated cost against the budgets of its key, user, team and the proxy (when it
    /// <paramref name="spends"/>) and its estimated tokens against the rpm/tpm/parallel <paramref name="limits"/>; sets the
    /// x-ratelimit-* headers. A refused admission holds nothing. Settle or dispose the result when the request ends.
    /// </summary>
    public async Task<Admission> AdmitAsync(
        HttpContext http, JsonObject? body, KeyRecord? key, UserRecord? user, TeamRecord? team, IReadOnlyList<LimitScope> limits, bool spends)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(limits);
        var scopes = spends ? await ScopesAsync(key, user, team, http.RequestAborted) : [];
        var limited = limits.Where(l => l.HasLimits).ToList();
        if (scopes.Count == 0 && limited.Count == 0)
        {
            return Admission.Open;
        }

        var estimate = RequestEstimate.Of(http, config.Current, body, options.EstimatedOutputTokens);
        var reservation = await reservations.ReserveAsync(scopes, estimate.Cost);
        if (reservation.Refusal is { } refused)
        {
            return Admission.Refused(Exceeded(refused.Scope, refused.Spend, refused.InFlight));
        }

        RateLimitDecision? decision = null;
        if (limited.Count > 0)
        {
            decision = await limiter.AcquireAsync(limited, estimate.Tokens);
            foreach (var (name, value) in decision.Headers)
            {
                http.Response.Headers[name] = value;
            }

            if (decision.RefusedMessage is { } message)
            {
                await reservations.SettleAsync(reservation, 0m);
                return Admission.Refused(AuthErrors.RateLimited(message, decision.RetryAfterSeconds));
            }
        }

        return new Admission(reservations, limiter, reservation, limited, decision, estimate);
    }

    /// <summary>The budgets a caller's request counts against: its key's, user's, team's and the proxy's, where set.</summary>
    private async Task<List<BudgetScope>> ScopesAsync(KeyRecord? key, UserRecord? user, TeamRecord? team, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var scopes = new List<BudgetScope>();
        if (key is { MaxBudget: { } keyMax })
        {
            scopes.Add(BudgetScope.Of("key", key.TokenHash, keyMax, key.Spend, key.BudgetResetAt, now));
        }

        if (user is { MaxBudget: { } userMax })
        {
            scopes.Add(BudgetScope.Of("user", user.UserId, userMax, user.Spend, user.BudgetResetAt, now));
        }

        if (team is { MaxBudget: { } teamMax })
        {
            scopes.Add(BudgetScope.Of("team", team.TeamId, teamMax, team.Spend, team.BudgetResetAt, now));
        }

        var current = config.Current;
        if ((current.LitellmSettings.MaxBudget ?? current.GeneralSettings.BudgetLocal) is { } proxyMax && proxyMax > 0)
        {
            var proxy = await cache.GetProxySpendAsync(cancellationToken);
            scopes.Add(BudgetScope.Of("proxy", "global", proxyMax, proxy?.Spend ?? 0m, proxy?.BudgetResetAt, now));
        }

        return scopes;
    }

    /// <summary>LiteLLM's refusal text for a scope's budget, with what requests in flight hold when they made the difference.</summary>
    private static OpenAiErrorResult Exceeded(BudgetScope scope, decimal spend, decimal inFlight)
    {
        var held = inFlight > 0 ? $" (requests in flight hold {AuthErrors.Amount(inFlight)} more)" : "";
        return scope.Type switch
        {
            "key" => AuthErrors.Budget($"ExceededTokenBudget: Current spend for token: {AuthErrors.Amount(spend)}; Max Budget for Token: {AuthErrors.Amount(scope.MaxBudget)}{held}"),
            "user" => AuthErrors.Budget($"ExceededBudget: User={scope.Id} over budget. Spend={AuthErrors.Amount(spend)}, Budget={AuthErrors.Amount(scope.MaxBudget)}{held}"),
            "team" => AuthErrors.Budget($"Budget has been exceeded! Team={scope.Id} Current cost: {AuthErrors.Amount(spend)}, Max budget: {AuthErrors.Amount(scope.MaxBudget)}{held}"),
            _ => AuthErrors.Budget($"Budget has been exceeded! Current cost: {AuthErrors.Amount(spend)}, Max budget: {AuthErrors.Amount(scope.MaxBudget)}{held}"),
        };
    }

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
