using Broker.Contracts.Identity;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// The caller the auth filter authenticated for this HTTP request (virtual key, user, team), for every feature
/// that attributes work to it (inference commands, files, batches). Null for the master key or an open gateway.
/// </summary>
public static class CallerHttpContextExtensions
{
    private static readonly object Key = new();

    public static Caller? GetCaller(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.TryGetValue(Key, out var value) ? value as Caller : null;
    }

    public static void SetCaller(this HttpContext context, Caller? caller)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[Key] = caller;
    }
}
