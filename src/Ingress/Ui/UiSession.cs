namespace Broker.Ingress.Ui;

/// <summary>
/// A signed-in admin UI session, as the session cookie carries it (sealed by <see cref="UiSessionProtector"/>):
/// the key that signed in (sent on as the Bearer key of the admin routes the UI calls), whether it is the master key,
/// the CSRF token every change must echo in <c>X-CSRF-Token</c>, and when the session ends. A user signed in by SSO
/// has <see cref="UserId"/> (and <see cref="Email"/>): an admin's session carries the master key, anyone else's no key
/// at all, only the user (<see cref="UiCookieAuth"/>).
/// </summary>
public sealed record UiSession(string Key, bool IsAdmin, string CsrfToken, DateTimeOffset Expires, string? KeyAlias)
{
    public string? UserId { get; init; }

    public string? Email { get; init; }

    /// <summary>The SSO provider the user signed in with; null for a key sign-in.</summary>
    public string? Provider { get; init; }
}
