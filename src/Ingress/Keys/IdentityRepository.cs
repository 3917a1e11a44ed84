using System.Data.Common;
using Broker.ServiceDefaults.Database;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Ingress.Keys;

/// <summary>
/// broker_keys, broker_users and broker_teams in PostgreSQL: the management API is their only writer (Billing adds
/// spend). Reads on the request path go through <see cref="IdentityCache"/>, never straight here.
/// </summary>
public sealed class IdentityRepository(BrokerDatabase database) : IIdentityStore
{
    public bool IsConfigured => database.IsConfigured;

    public Task<KeyRecord?> InsertKeyAsync(string tokenHash, string keyName, string? createdBy, IReadOnlyList<ColumnValue> values, CancellationToken ct) =>
        InsertAsync("broker_keys",
            [new("token_hash", tokenHash, NpgsqlDbType.Text), new("key_name", keyName, NpgsqlDbType.Text), new("created_by", createdBy, NpgsqlDbType.Text), .. values],
            ReadKey, ct);

    public Task<UserRecord?> InsertUserAsync(string userId, IReadOnlyList<ColumnValue> values, CancellationToken ct) =>
        InsertAsync("broker_users", [new("user_id", userId, NpgsqlDbType.Text), .. values], ReadUser, ct);

    public Task<TeamRecord?> InsertTeamAsync(string teamId, IReadOnlyList<ColumnValue> values, CancellationToken ct) =>
        InsertAsync("broker_teams", [new("team_id", teamId, NpgsqlDbType.Text), .. values], ReadTeam, ct);

    public static readonly IdentityTable<KeyRecord> Keys = new("key", "broker_keys", "token_hash", ReadKey);

    public static readonly IdentityTable<UserRecord> Users = new("user", "broker_users", "user_id", ReadUser);

    public static readonly IdentityTable<TeamRecord> Teams = new("team", "broker_teams", "team_id", ReadTeam);

    public Task<KeyRecord?> GetKeyAsync(string tokenHash, CancellationToken ct) => GetAsync(Keys, tokenHash, ct);

    /// <summary>The proxy-wide spend Billing keeps (<c>broker_spend_totals</c> row proxy/global); null before any spend.</summary>
    public async Task<(decimal Spend, DateTimeOffset? BudgetResetAt)?> GetProxySpendAsync(CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT spend, budget_reset_at FROM broker_spend_totals WHERE entity_type = 'proxy' AND entity_id = 'global'");
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? (reader.GetDecimal(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1))
            : null;
    }

    public async Task<KeyRecord?> GetKeyByAliasAsync(string alias, CancellationToken ct) =>
        (await QueryAsync("SELECT * FROM broker_keys WHERE key_alias = $1", [alias], ReadKey, ct)) is [var first, ..] ? first : null;

    public Task<UserRecord?> GetUserAsync(string userId, CancellationToken ct) => GetAsync(Users, userId, ct);

    public Task<TeamRecord?> GetTeamAsync(string teamId, CancellationToken ct) => GetAsync(Teams, teamId, ct);

    public async Task<T?> GetAsync<T>(IdentityTable<T> table, string id, CancellationToken ct)
        where T : IdentityRecord
    {
        ArgumentNullException.ThrowIfNull(table);
        return (await QueryAsync($"SELECT * FROM {table.Name} WHERE {table.IdColumn} = $1", [id], table.Read, ct)) is [var first, ..] ? first : null;
    }

    public Task<IReadOnlyList<KeyRecord>> ListKeysAsync(string? userId, string? teamId, string? alias, int offset, int limit, CancellationToken ct) =>
        QueryAsync(
            "SELECT * FROM broker_keys WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR team_id = $2) " +
            "AND ($3::text IS NULL OR key_alias = $3) ORDER BY created_at, token_hash OFFSET $4 LIMIT $5",
            [userId, teamId, alias, offset, limit], ReadKey, ct);

    public async Task<long> CountKeysAsync(string? userId, string? teamId, string? alias, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT count(*) FROM broker_keys WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR team_id = $2) AND ($3::text IS NULL OR key_alias = $3)");
        AddPositional(command, [userId, teamId, alias]);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public Task<IReadOnlyList<UserRecord>> ListUsersAsync(int offset, int limit, CancellationToken ct) =>
        QueryAsync("SELECT * FROM broker_users ORDER BY created_at, user_id OFFSET $1 LIMIT $2", [offset, limit], ReadUser, ct);

    public Task<IReadOnlyList<TeamRecord>> ListTeamsAsync(CancellationToken ct) =>
        QueryAsync("SELECT * FROM broker_teams ORDER BY created_at, team_id", [], ReadTeam, ct);

    /// <summary>Deletes the rows and returns the ids that existed.</summary>
    public Task<IReadOnlyList<string>> DeleteAsync<T>(IdentityTable<T> table, IReadOnlyList<string> ids, CancellationToken ct)
        where T : IdentityRecord
    {
        ArgumentNullException.ThrowIfNull(table);
        return QueryAsync($"DELETE FROM {table.Name} WHERE {table.IdColumn} = ANY($1) RETURNING {table.IdColumn}", [ids.ToArray()], r => r.GetString(0), ct);
    }

    /// <summary>Key hashes of a user's or team's keys (to drop them from caches when the user or team goes).</summary>
    public Task<IReadOnlyList<string>> KeyHashesOfAsync<T>(IdentityTable<T> owner, IReadOnlyList<string> ids, CancellationToken ct)
        where T : IdentityRecord
    {
        ArgumentNullException.ThrowIfNull(owner);
        return QueryAsync($"SELECT token_hash FROM broker_keys WHERE {owner.IdColumn} = ANY($1)", [ids.ToArray()], r => r.GetString(0), ct);
    }

    /// <summary>Sets the columns and returns the row (null when there is none); with no columns to set, only reads it.</summary>
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
        var sets = string.Join(", ", last.Select((v, i) => v.MergeJson ? $"{v.Column} = COALESCE({v.Column}, '{{}}'::jsonb) || ${i + 2}" : $"{v.Column} = ${i + 2}").Append("updated_at = now()"));
        await using var command = database.DataSource.CreateCommand($"UPDATE {table.Name} SET {sets} WHERE {table.IdColumn} = $1 RETURNING *");
        command.Parameters.Add(new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Text });
        foreach (var v in last)
        {
            command.Parameters.Add(Parameter(v));
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? table.Read(reader) : null;
    }

    private async Task<T?> InsertAsync<T>(string table, IReadOnlyList<ColumnValue> values, Func<DbDataReader, T> read, CancellationToken ct)
        where T : class
    {
        var last = values.GroupBy(v => v.Column).Select(g => g.Last()).ToList();
        var columns = string.Join(", ", last.Select(v => v.Column));
        var parameters = string.Join(", ", last.Select((_, i) => $"${i + 1}"));
        await using var command = database.DataSource.CreateCommand($"INSERT INTO {table} ({columns}) VALUES ({parameters}) RETURNING *");
        foreach (var v in last)
        {
            command.Parameters.Add(Parameter(v));
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? read(reader) : null;
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object?[] args, Func<DbDataReader, T> read, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        AddPositional(command, args);
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static void AddPositional(NpgsqlCommand command, object?[] args)
    {
        foreach (var arg in args)
        {
            command.Parameters.Add(arg switch
            {
                null => new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                int i => new NpgsqlParameter { Value = i, NpgsqlDbType = NpgsqlDbType.Integer },
                _ => new NpgsqlParameter { Value = arg },
            });
        }
    }

    private static NpgsqlParameter Parameter(ColumnValue v) => new() { Value = Storable(v.Value, v.Type) ?? DBNull.Value, NpgsqlDbType = v.Type };

    /// <summary>Client text as PostgreSQL stores it: no NUL, no lone surrogate (<see cref="PgText"/>).</summary>
    private static object? Storable(object? value, NpgsqlDbType type) => value switch
    {
        string json when type == NpgsqlDbType.Jsonb => PgText.CleanJson(json),
        string text => PgText.Clean(text),
        string[] texts => texts.Select(t => PgText.Clean(t)).ToArray(),
        _ => value,
    };

    private static KeyRecord ReadKey(DbDataReader r) => ReadShared(r, new KeyRecord
    {
        TokenHash = r.GetString(r.GetOrdinal("token_hash")),
        KeyName = r.GetString(r.GetOrdinal("key_name")),
        KeyAlias = Text(r, "key_alias"),
        UserId = Text(r, "user_id"),
        TeamId = Text(r, "team_id"),
        Aliases = r.GetString(r.GetOrdinal("aliases")),
        AllowedRoutes = r.GetFieldValue<string[]>(r.GetOrdinal("allowed_routes")),
        Expires = Time(r, "expires"),
        Blocked = r.GetBoolean(r.GetOrdinal("blocked")),
        CreatedBy = Text(r, "created_by"),
    });

    private static UserRecord ReadUser(DbDataReader r) => ReadShared(r, new UserRecord
    {
        UserId = r.GetString(r.GetOrdinal("user_id")),
        UserEmail = Text(r, "user_email"),
        UserAlias = Text(r, "user_alias"),
        UserRole = r.GetString(r.GetOrdinal("user_role")),
        Teams = r.GetFieldValue<string[]>(r.GetOrdinal("teams")),
    });

    private static TeamRecord ReadTeam(DbDataReader r) => ReadShared(r, new TeamRecord
    {
        TeamId = r.GetString(r.GetOrdinal("team_id")),
        TeamAlias = Text(r, "team_alias"),
        Blocked = r.GetBoolean(r.GetOrdinal("blocked")),
    });

    /// <summary>Fills the columns every identity table has (<see cref="IdentityRecord"/>) into a record read so far.</summary>
    private static T ReadShared<T>(DbDataReader r, T record)
        where T : IdentityRecord => (T)((IdentityRecord)record with
    {
        Models = r.GetFieldValue<string[]>(r.GetOrdinal("models")),
        MaxBudget = Money(r, "max_budget"),
        SoftBudget = Money(r, "soft_budget"),
        BudgetDuration = Text(r, "budget_duration"),
        BudgetResetAt = Time(r, "budget_reset_at"),
        Spend = r.GetDecimal(r.GetOrdinal("spend")),
        RpmLimit = Long(r, "rpm_limit"),
        TpmLimit = Long(r, "tpm_limit"),
        MaxParallelRequests = Int(r, "max_parallel_requests"),
        Metadata = r.GetString(r.GetOrdinal("metadata")),
        CreatedAt = Time(r, "created_at")!.Value,
        UpdatedAt = Time(r, "updated_at")!.Value,
    });

    private static string? Text(DbDataReader r, string column) =>
        r.GetOrdinal(column) is var i && r.IsDBNull(i) ? null : r.GetString(i);

    private static decimal? Money(DbDataReader r, string column) =>
        r.GetOrdinal(column) is var i && r.IsDBNull(i) ? null : r.GetDecimal(i);

    private static long? Long(DbDataReader r, string column) =>
        r.GetOrdinal(column) is var i && r.IsDBNull(i) ? null : r.GetInt64(i);

    private static int? Int(DbDataReader r, string column) =>
        r.GetOrdinal(column) is var i && r.IsDBNull(i) ? null : r.GetInt32(i);

    private static DateTimeOffset? Time(DbDataReader r, string column) =>
        r.GetOrdinal(column) is var i && r.IsDBNull(i) ? null : new DateTimeOffset(r.GetFieldValue<DateTime>(i), TimeSpan.Zero);
}
