using System.Data.Common;
using Broker.ServiceDefaults.Database;
using Microsoft.Data.Sqlite;
using NpgsqlTypes;

namespace Broker.Ingress.Keys;

/// <summary>
/// broker_keys, broker_users and broker_teams in the embedded SQLite file (types as <see cref="SqliteValues"/> keeps
/// them). Same behaviour as <see cref="IdentityRepository"/>: the contract tests run against both.
/// </summary>
public sealed class SqliteIdentityStore(BrokerDatabase database, TimeProvider time) : IIdentityStore
{
    public bool IsConfigured => true;

    public Task<KeyRecord?> InsertKeyAsync(string tokenHash, string keyName, string? createdBy, IReadOnlyList<ColumnValue> values, CancellationToken ct) =>
        InsertAsync(IdentityRepository.Keys,
            [new("token_hash", tokenHash, NpgsqlDbType.Text), new("key_name", keyName, NpgsqlDbType.Text), new("created_by", createdBy, NpgsqlDbType.Text), .. values], ct);

    public Task<UserRecord?> InsertUserAsync(string userId, IReadOnlyList<ColumnValue> values, CancellationToken ct) =>
        InsertAsync(IdentityRepository.Users, [new("user_id", userId, NpgsqlDbType.Text), .. values], ct);

    public Task<TeamRecord?> InsertTeamAsync(string teamId, IReadOnlyList<ColumnValue> values, CancellationToken ct) =>
        InsertAsync(IdentityRepository.Teams, [new("team_id", teamId, NpgsqlDbType.Text), .. values], ct);

    public Task<KeyRecord?> GetKeyAsync(string tokenHash, CancellationToken ct) => GetAsync(IdentityRepository.Keys, tokenHash, ct);

    public async Task<(decimal Spend, DateTimeOffset? BudgetResetAt)?> GetProxySpendAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenSqliteAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT spend, budget_reset_at FROM broker_spend_totals WHERE entity_type = 'proxy' AND entity_id = 'global'";
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (SqliteValues.ParseMoney(reader.GetString(0)), SqliteValues.Time(reader, 1)) : null;
    }

    public async Task<KeyRecord?> GetKeyByAliasAsync(string alias, CancellationToken ct) =>
        (await QueryAsync("SELECT * FROM broker_keys WHERE key_alias = $p0", [alias], ReadKey, ct)) is [var first, ..] ? first : null;

    public Task<UserRecord?> GetUserAsync(string userId, CancellationToken ct) => GetAsync(IdentityRepository.Users, userId, ct);

    public Task<TeamRecord?> GetTeamAsync(string teamId, CancellationToken ct) => GetAsync(IdentityRepository.Teams, teamId, ct);

    public async Task<T?> GetAsync<T>(IdentityTable<T> table, string id, CancellationToken ct)
        where T : IdentityRecord
    {
        ArgumentNullException.ThrowIfNull(table);
        return (await QueryAsync($"SELECT * FROM {table.Name} WHERE {table.IdColumn} = $p0", [id], Reader(table), ct)) is [var first, ..] ? first : null;
    }

    public Task<IReadOnlyList<KeyRecord>> ListKeysAsync(string? userId, string? teamId, string? alias, int offset, int limit, CancellationToken ct) =>
        QueryAsync(
            "SELECT * FROM broker_keys WHERE ($p0 IS NULL OR user_id = $p0) AND ($p1 IS NULL OR team_id = $p1) " +
            "AND ($p2 IS NULL OR key_alias = $p2) ORDER BY created_at, token_hash LIMIT $p4 OFFSET $p3",
            [userId, teamId, alias, offset, limit], ReadKey, ct);

    public async Task<long> CountKeysAsync(string? userId, string? teamId, string? alias, CancellationToken ct) =>
        (await QueryAsync(
            "SELECT count(*) FROM broker_keys WHERE ($p0 IS NULL OR user_id = $p0) AND ($p1 IS NULL OR team_id = $p1) AND ($p2 IS NULL OR key_alias = $p2)",
            [userId, teamId, alias], r => r.GetInt64(0), ct))[0];

    public Task<IReadOnlyList<UserRecord>> ListUsersAsync(int offset, int limit, CancellationToken ct) =>
        QueryAsync("SELECT * FROM broker_users ORDER BY created_at, user_id LIMIT $p1 OFFSET $p0", [offset, limit], ReadUser, ct);

    public Task<IReadOnlyList<TeamRecord>> ListTeamsAsync(CancellationToken ct) =>
        QueryAsync("SELECT * FROM broker_teams ORDER BY created_at, team_id", [], ReadTeam, ct);

    public Task<IReadOnlyList<string>> DeleteAsync<T>(IdentityTable<T> table, IReadOnlyList<string> ids, CancellationToken ct)
        where T : IdentityRecord
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(ids);
        return ids.Count == 0
            ? Task.FromResult<IReadOnlyList<string>>([])
            : QueryAsync($"DELETE FROM {table.Name} WHERE {table.IdColumn} IN ({In(ids.Count)}) RETURNING {table.IdColumn}", [.. ids], r => r.GetString(0), ct);
    }

    public Task<IReadOnlyList<string>> KeyHashesOfAsync<T>(IdentityTable<T> owner, IReadOnlyList<string> ids, CancellationToken ct)
        where T : IdentityRecord
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(ids);
        return ids.Count == 0
            ? Task.FromResult<IReadOnlyList<string>>([])
            : QueryAsync($"SELECT token_hash FROM broker_keys WHERE {owner.IdColumn} IN ({In(ids.Count)})", [.. ids], r => r.GetString(0), ct);
    }

    public async Task<T?> UpdateAsync<T>(IdentityTable<T> table, string id, IReadOnlyList<ColumnValue> values, CancellationToken ct)
        where T : IdentityRecord
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return await GetAsync(table, id, ct);
        }

        var last = values.GroupBy(v => v.Column).Select(g => g.Last()).ToList();
        var sets = string.Join(", ", last.Select((v, i) => v.MergeJson ? $"{v.Column} = json_patch(COALESCE({v.Column}, '{{}}'), $p{i + 1})" : $"{v.Column} = $p{i + 1}").Append($"updated_at = $p{last.Count + 1}"));
        object?[] args = [id, .. last.Select(Storable), SqliteValues.Time(time.GetUtcNow())];
        return (await QueryAsync($"UPDATE {table.Name} SET {sets} WHERE {table.IdColumn} = $p0 RETURNING *", args, Reader(table), ct)) is [var row, ..] ? row : null;
    }

    private async Task<T?> InsertAsync<T>(IdentityTable<T> table, IReadOnlyList<ColumnValue> values, CancellationToken ct)
        where T : IdentityRecord
    {
        var now = SqliteValues.Time(time.GetUtcNow());
        var last = values.GroupBy(v => v.Column).Select(g => g.Last()).Where(v => v.Column is not ("created_at" or "updated_at")).ToList();
        var columns = string.Join(", ", last.Select(v => v.Column).Append("created_at").Append("updated_at"));
        var parameters = string.Join(", ", Enumerable.Range(0, last.Count + 2).Select(i => $"$p{i}"));
        object?[] args = [.. last.Select(Storable), now, now];
        return (await QueryAsync($"INSERT INTO {table.Name} ({columns}) VALUES ({parameters}) RETURNING *", args, Reader(table), ct)) is [var row, ..] ? row : null;
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object?[] args, Func<DbDataReader, T> read, CancellationToken ct)
    {
        await using var connection = await database.OpenSqliteAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < args.Length; i++)
        {
            command.Parameters.Add(new SqliteParameter($"$p{i}", args[i] ?? DBNull.Value));
        }

        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static string In(int count) => string.Join(", ", Enumerable.Range(0, count).Select(i => $"$p{i}"));

    /// <summary>A column value as this file keeps it, client text cleaned as PostgreSQL would need (one behaviour for both stores).</summary>
    private static object? Storable(ColumnValue v) => v.Value switch
    {
        null => null,
        string json when v.Type == NpgsqlDbType.Jsonb => PgText.CleanJson(json),
        string text => PgText.Clean(text),
        string[] texts => SqliteValues.Array(texts.Select(t => PgText.Clean(t)!)),
        IEnumerable<string> texts => SqliteValues.Array(texts.Select(t => PgText.Clean(t)!)),
        decimal money => SqliteValues.Money(money),
        DateTimeOffset at => SqliteValues.Time(at),
        DateTime at => SqliteValues.Time(new DateTimeOffset(DateTime.SpecifyKind(at, at.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : at.Kind).ToUniversalTime())),
        bool flag => flag ? 1 : 0,
        _ => v.Value,
    };

    private static Func<DbDataReader, T> Reader<T>(IdentityTable<T> table)
        where T : IdentityRecord => table.Name switch
        {
            "broker_keys" => r => (T)(IdentityRecord)ReadKey(r),
            "broker_users" => r => (T)(IdentityRecord)ReadUser(r),
            "broker_teams" => r => (T)(IdentityRecord)ReadTeam(r),
            _ => throw new ArgumentException($"unknown identity table {table.Name}", nameof(table)),
        };

    private static KeyRecord ReadKey(DbDataReader r) => ReadShared(r, new KeyRecord
    {
        TokenHash = r.GetString(r.GetOrdinal("token_hash")),
        KeyName = r.GetString(r.GetOrdinal("key_name")),
        KeyAlias = Text(r, "key_alias"),
        UserId = Text(r, "user_id"),
        TeamId = Text(r, "team_id"),
        Aliases = r.GetString(r.GetOrdinal("aliases")),
        AllowedRoutes = SqliteValues.ParseArray(r.GetString(r.GetOrdinal("allowed_routes"))),
        Expires = SqliteValues.Time(r, r.GetOrdinal("expires")),
        Blocked = r.GetInt64(r.GetOrdinal("blocked")) != 0,
        CreatedBy = Text(r, "created_by"),
    });

    private static UserRecord ReadUser(DbDataReader r) => ReadShared(r, new UserRecord
    {
        UserId = r.GetString(r.GetOrdinal("user_id")),
        UserEmail = Text(r, "user_email"),
        UserAlias = Text(r, "user_alias"),
        UserRole = r.GetString(r.GetOrdinal("user_role")),
        Teams = SqliteValues.ParseArray(r.GetString(r.GetOrdinal("teams"))),
    });

    private static TeamRecord ReadTeam(DbDataReader r) => ReadShared(r, new TeamRecord
    {
        TeamId = r.GetString(r.GetOrdinal("team_id")),
        TeamAlias = Text(r, "team_alias"),
        Blocked = r.GetInt64(r.GetOrdinal("blocked")) != 0,
    });

    private static T ReadShared<T>(DbDataReader r, T record)
        where T : IdentityRecord => (T)((IdentityRecord)record with
    {
        Models = SqliteValues.ParseArray(r.GetString(r.GetOrdinal("models"))),
        MaxBudget = SqliteValues.Money(r, r.GetOrdinal("max_budget")),
        SoftBudget = SqliteValues.Money(r, r.GetOrdinal("soft_budget")),
        BudgetDuration = Text(r, "budget_duration"),
        BudgetResetAt = SqliteValues.Time(r, r.GetOrdinal("budget_reset_at")),
        Spend = SqliteValues.ParseMoney(r.GetString(r.GetOrdinal("spend"))),
        RpmLimit = r.GetOrdinal("rpm_limit") is var rpm && r.IsDBNull(rpm) ? null : r.GetInt64(rpm),
        TpmLimit = r.GetOrdinal("tpm_limit") is var tpm && r.IsDBNull(tpm) ? null : r.GetInt64(tpm),
        MaxParallelRequests = r.GetOrdinal("max_parallel_requests") is var mp && r.IsDBNull(mp) ? null : r.GetInt32(mp),
        Metadata = r.GetString(r.GetOrdinal("metadata")),
        CreatedAt = SqliteValues.ParseTime(r.GetString(r.GetOrdinal("created_at"))),
        UpdatedAt = SqliteValues.ParseTime(r.GetString(r.GetOrdinal("updated_at"))),
    });

    private static string? Text(DbDataReader r, string column) => SqliteValues.Text(r, r.GetOrdinal(column));
}
