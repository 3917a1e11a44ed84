using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Contracts.Identity;
using Broker.Ingress.Errors;
using Broker.Ingress.Keys;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Auth;

/// <summary>
/// The model check of a request, wherever it is about to be queued (a live request, a batch line): the requested
/// model against the caller's <see cref="ModelScope"/>, then every fallback it could reach (outside ones are skipped
/// and logged).
/// </summary>
public sealed class ModelAuthorizer(IdentityCache cache, TimeProvider time, ILogger<ModelAuthorizer> logger)
{
    /// <summary>
    /// Refused is null when <paramref name="model"/> is within <paramref name="scope"/>; its fallbacks in
    /// <paramref name="body"/> are then narrowed to the scope (Narrowed: the body was changed).
    /// </summary>
    public (OpenAiErrorResult? Refused, bool Narrowed) Authorize(ProxyConfig config, ModelScope scope, JsonObject body, string model)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(model);
        if (scope.Refusal(config, model) is { } refused)
        {
            return (refused, false);
        }

        var skipped = FallbackScope.Restrict(config, scope, body, model);
        foreach (var fallback in skipped)
        {
            Log.FallbackSkipped(logger, fallback, model, Describe(scope));
        }

        return (null, skipped.Count > 0);
    }

    /// <summary>
    /// The scope of a caller recorded earlier (a batch's submitter): its key, user and team as they are now. A key that
    /// is gone, blocked or expired is refused; null caller = the proxy admin.
    /// </summary>
    public async Task<(ModelScope? Scope, OpenAiErrorResult? Refused)> ScopeOfAsync(Caller? caller, CancellationToken cancellationToken)
    {
        if (caller is null)
        {
            return (ModelScope.Unrestricted, null);
        }

        KeyRecord? key = null;
        if (caller.KeyHash is { } hash)
        {
            var lookup = await cache.GetKeyAsync(hash, cancellationToken);
            if (lookup.Record is null)
            {
                return (null, lookup.DatabaseDown ? AuthErrors.DatabaseUnavailable() : AuthErrors.InvalidKey(caller.KeyAlias ?? "the key that created this batch"));
            }

            key = lookup.Record;
            if (key.Blocked)
            {
                return (null, AuthErrors.Blocked("this key"));
            }

            if (key.Expires is { } expires && expires <= time.GetUtcNow())
            {
                return (null, AuthErrors.Expired(expires, time.GetUtcNow()));
            }
        }

        // fail closed: a user or team whose models cannot be read (database down, nothing cached) does not run unrestricted
        UserRecord? user = null;
        if (caller.UserId is { } userId)
        {
            var found = await cache.GetUserAsync(userId, cancellationToken);
            if (found.DatabaseDown && found.Record is null)
            {
                return (null, AuthErrors.DatabaseUnavailable());
            }

            user = found.Record;
        }

        TeamRecord? team = null;
        if (caller.TeamId is { } teamId)
        {
            var found = await cache.GetTeamAsync(teamId, cancellationToken);
            if (found.DatabaseDown && found.Record is null)
            {
                return (null, AuthErrors.DatabaseUnavailable());
            }

            team = found.Record;
        }

        if (team is { Blocked: true })
        {
            return (null, AuthErrors.Blocked($"team {team.TeamId}"));
        }

        return (new ModelScope(key, user, team), null);
    }

    private static string Describe(ModelScope scope) =>
        scope.Key is { } key ? $"key {key.KeyName}" : scope.User is { } user ? $"user {user.UserId}" : scope.Team is { } team ? $"team {team.TeamId}" : "the caller";
}
