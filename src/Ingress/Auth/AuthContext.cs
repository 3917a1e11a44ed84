using Broker.Contracts.Identity;
using Broker.Ingress.Keys;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>What the auth filter established for this request: admin (master key, admin JWT, open gateway) or a caller's records.</summary>
public sealed record AuthContext(bool IsAdmin, Caller? Caller, KeyRecord? Key, UserRecord? User, TeamRecord? Team)
{
    private static readonly object ItemKey = new();

    public static AuthContext? Of(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Items.TryGetValue(ItemKey, out var value) ? value as AuthContext : null;
    }

    public void AttachTo(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Items[ItemKey] = this;
        http.SetCaller(Caller);
    }
}
