using System.Collections;
using Broker.Config;
using Broker.Ingress.Keys;
using Broker.ServiceDefaults.Database;
using NpgsqlTypes;

namespace Broker.Ingress.Ui;

/// <summary>
/// Maps who signed in by SSO to an internal user, as LiteLLM does: the user whose <c>user_id</c> is the provider's id,
/// else the one with that (verified) e-mail, else a new user created on first sign-in (<c>user_role</c> from
/// <c>litellm_settings.default_internal_user_params.user_role</c>, default <c>internal_user</c>). The proxy admin is
/// a user named in <c>PROXY_ADMIN_ID</c> (id or e-mail), a user whose <c>user_role</c> is <c>proxy_admin</c>, or one
/// whose role claim (<c>GENERIC_USER_ROLE_ATTRIBUTE</c>) says <c>proxy_admin</c>.
/// </summary>
public sealed class SsoUsers(IIdentityStore store, IProxyConfigProvider config)
{
    public const string AdminRole = "proxy_admin";

    public async Task<(string UserId, bool IsAdmin)> SignInAsync(SsoIdentity identity, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var current = config.Current;
        var sso = current.GeneralSettings.Sso;
        var named = sso.AdminIds.Any(a => string.Equals(a, identity.UserId, StringComparison.Ordinal) ||
                                          (identity.Email is not null && string.Equals(a, identity.Email, StringComparison.OrdinalIgnoreCase)));
        var claimed = identity.Roles.Contains(AdminRole, StringComparer.Ordinal);
        if (!store.IsConfigured)
        {
            // no user table: only the admin can sign in (as the master key)
            return named || claimed
                ? (identity.UserId, true)
                : throw new SsoFailedException("sso_no_database", "users signed in by SSO are kept in the database: none is configured");
        }

        var user = await store.GetUserAsync(identity.UserId, ct) ?? await ByEmailAsync(identity.Email, ct);
        if (user is null)
        {
            var role = named || claimed ? AdminRole : DefaultRole(current.LitellmSettings.Extra);
            var values = new List<ColumnValue> { new("user_role", role, NpgsqlDbType.Text) };
            if (identity.Email is not null)
            {
                values.Add(new ColumnValue("user_email", identity.Email, NpgsqlDbType.Text));
            }

            if (identity.Name is not null)
            {
                values.Add(new ColumnValue("user_alias", identity.Name, NpgsqlDbType.Text));
            }

            try
            {
                user = await store.InsertUserAsync(identity.UserId, values, ct);
            }
            catch (System.Data.Common.DbException ex) when (DatabaseErrors.IsUniqueViolation(ex))
            {
                // signed in twice at once: the other sign-in made the user
                user = await store.GetUserAsync(identity.UserId, ct);
            }
        }

        if (user is null)
        {
            throw new SsoFailedException("sso_user_unavailable", "the user could not be created");
        }

        return (user.UserId, named || claimed || string.Equals(user.UserRole, AdminRole, StringComparison.Ordinal));
    }

    private async Task<UserRecord?> ByEmailAsync(string? email, CancellationToken ct)
    {
        if (email is null)
        {
            return null;
        }

        const int page = 500;
        for (var offset = 0; ; offset += page)
        {
            var users = await store.ListUsersAsync(offset, page, ct);
            if (users.FirstOrDefault(u => string.Equals(u.UserEmail, email, StringComparison.OrdinalIgnoreCase)) is { } found)
            {
                return found;
            }

            if (users.Count < page)
            {
                return null;
            }
        }
    }

    private static string DefaultRole(IReadOnlyDictionary<string, object?> litellmExtra) =>
        litellmExtra.TryGetValue("default_internal_user_params", out var value) && value is IDictionary map &&
        map["user_role"] is string role && role.Length > 0 && role != AdminRole
            ? role
            : "internal_user";
}
