namespace Broker.Ingress.Keys;

/// <summary>
/// broker_keys, broker_users and broker_teams: the management API is their only writer (Billing adds spend). Two
/// implementations with one behaviour, proved by one contract test suite: <see cref="IdentityRepository"/> (PostgreSQL)
/// and <see cref="SqliteIdentityStore"/> (the embedded file). Reads on the request path go through <see cref="IdentityCache"/>.
/// </summary>
public interface IIdentityStore
{
    /// <summary>True when keys can be kept (a PostgreSQL database or the embedded SQLite file).</summary>
    bool IsConfigured { get; }

    Task<KeyRecord?> InsertKeyAsync(string tokenHash, string keyName, string? createdBy, IReadOnlyList<ColumnValue> values, CancellationToken ct);

    Task<UserRecord?> InsertUserAsync(string userId, IReadOnlyList<ColumnValue> values, CancellationToken ct);

    Task<TeamRecord?> InsertTeamAsync(string teamId, IReadOnlyList<ColumnValue> values, CancellationToken ct);

    Task<KeyRecord?> GetKeyAsync(string tokenHash, CancellationToken ct);

    /// <summary>The proxy-wide spend Billing keeps (<c>broker_spend_totals</c> row proxy/global); null before any spend.</summary>
    Task<(decimal Spend, DateTimeOffset? BudgetResetAt)?> GetProxySpendAsync(CancellationToken ct);

    Task<KeyRecord?> GetKeyByAliasAsync(string alias, CancellationToken ct);

    Task<UserRecord?> GetUserAsync(string userId, CancellationToken ct);

    Task<TeamRecord?> GetTeamAsync(string teamId, CancellationToken ct);

    Task<T?> GetAsync<T>(IdentityTable<T> table, string id, CancellationToken ct)
        where T : IdentityRecord;

    /// <summary>Keys in creation order, filtered by whichever of user, team and alias is given.</summary>
    Task<IReadOnlyList<KeyRecord>> ListKeysAsync(string? userId, string? teamId, string? alias, int offset, int limit, CancellationToken ct);

    Task<long> CountKeysAsync(string? userId, string? teamId, string? alias, CancellationToken ct);

    Task<IReadOnlyList<UserRecord>> ListUsersAsync(int offset, int limit, CancellationToken ct);

    Task<IReadOnlyList<TeamRecord>> ListTeamsAsync(CancellationToken ct);

    /// <summary>Deletes the rows and returns the ids that existed.</summary>
    Task<IReadOnlyList<string>> DeleteAsync<T>(IdentityTable<T> table, IReadOnlyList<string> ids, CancellationToken ct)
        where T : IdentityRecord;

    /// <summary>Key hashes of a user's or team's keys (to drop them from caches when the user or team goes).</summary>
    Task<IReadOnlyList<string>> KeyHashesOfAsync<T>(IdentityTable<T> owner, IReadOnlyList<string> ids, CancellationToken ct)
        where T : IdentityRecord;

    /// <summary>Sets the columns (and updated_at) and returns the row (null when there is none); with no columns to set, only reads it.</summary>
    Task<T?> UpdateAsync<T>(IdentityTable<T> table, string id, IReadOnlyList<ColumnValue> values, CancellationToken ct)
        where T : IdentityRecord;
}
