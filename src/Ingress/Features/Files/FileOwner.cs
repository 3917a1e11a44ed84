using Broker.Ingress.Auth;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Features.Files;

/// <summary>
/// Who owns the files and batches a request creates or sees: a virtual key's hash; for a JWT without admin rights its
/// user (<c>user:&lt;id&gt;</c>), else its team (<c>team:&lt;id&gt;</c>); the proxy admin (master key, admin JWT, open
/// gateway) is <c>master</c>. Each owner sees only its own.
/// </summary>
public static class FileOwner
{
    public const string Master = "master";

    /// <summary>A caller that is not the admin but names no key, user or team (a JWT without those claims).</summary>
    public const string Anonymous = "anonymous";

    public static string Of(HttpContext http) => AuthContext.Of(http) is { IsAdmin: true } ? Master : http.GetCaller() switch
    {
        null => Master,
        { KeyHash: { } hash } => hash,
        { UserId: { } user } => "user:" + user,
        { TeamId: { } team } => "team:" + team,
        _ => Anonymous,
    };
}
