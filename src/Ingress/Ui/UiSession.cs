namespace Broker.Ingress.Ui;

/// <summary>
/// A signed-in admin UI session, as the session cookie carries it (sealed by <see cref="UiSessionProtector"/>):
/// the key that signed in (sent on as the Bearer key of the admin routes the UI calls), whether it is the master key,
/// the CSRF token every change must echo in <c>X-CSRF-Token</c>, and when the session ends.
/// </summary>
public sealed record UiSession(string Key, bool IsAdmin, string CsrfToken, DateTimeOffset Expires, string? KeyAlias);
