using Broker.Billing.Persistence;
using Broker.Config;
using Broker.ServiceDefaults.Database;
using Npgsql;

namespace Broker.Billing.Budgets;

/// <summary>
/// Ends budget periods: every key, user and team with a budget_duration whose budget_reset_at has passed starts again
/// from spend 0 with budget_reset_at = now + duration (a row with a duration but no reset time just gets one). The
/// proxy-wide budget (litellm_settings.max_budget / budget_duration) lives in broker_spend_totals as proxy/global.
/// Rows are locked in id order, like the spend writer's, so a reset and a spend batch never deadlock.
/// </summary>
public sealed class BudgetResetter(BrokerDatabase database, IProxyConfigProvider config)
{
    private static readonly (string Table, string IdColumn, string EntityType, string? Filter)[] Tables =
    [
        ("broker_keys", "token_hash", "key", null),
        ("broker_users", "user_id", "user", null),
        ("broker_teams", "team_id", "team", null),
        ("broker_spend_totals", "entity_id", "proxy", "entity_type = 'proxy'"),
    ];

    /// <summary>Resets what is due at <paramref name="now"/>; returns the entities whose totals or reset time changed.</summary>
    public async Task<IReadOnlyList<EntityTotal>> ResetDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (database.Kind == DatabaseKind.Sqlite)
        {
            return await ResetDueSqliteAsync(now, cancellationToken);
        }

        await EnsureProxyRowAsync(cancellationToken);
        var changed = new List<EntityTotal>();
        foreach (var (table, idColumn, entityType, filter) in Tables)
        {
            changed.AddRange(await ResetTableAsync(table, idColumn, entityType, filter, now, cancellationToken));
        }

        return changed;
    }

    /// <summary>The proxy's row carries the configured budget_duration (null when the proxy budget never resets).</summary>
    private async Task EnsureProxyRowAsync(CancellationToken cancellationToken)
    {
        var duration = ProxyBudget.Of(config.Current).BudgetDuration;
        await using var command = database.DataSource.CreateCommand("""
            INSERT INTO broker_spend_totals (entity_type, entity_id, budget_duration) VALUES ('proxy', 'global', @duration)
            ON CONFLICT (entity_type, entity_id) DO UPDATE SET budget_duration = EXCLUDED.budget_duration,
                budget_reset_at = CASE WHEN EXCLUDED.budget_duration IS NULL THEN NULL ELSE broker_spend_totals.budget_reset_at END
            WHERE broker_spend_totals.budget_duration IS DISTINCT FROM EXCLUDED.budget_duration
            """);
        command.Parameters.Add(new NpgsqlParameter<string?>("duration", duration) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<List<EntityTotal>> ResetTableAsync(
        string table, string idColumn, string entityType, string? filter, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changed = new List<EntityTotal>();
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = new List<(string Id, string Duration, bool HadResetTime)>();
        await using (var select = new NpgsqlCommand($"""
            SELECT {idColumn}, budget_duration, budget_reset_at IS NOT NULL FROM {table}
            WHERE budget_duration IS NOT NULL AND (budget_reset_at IS NULL OR budget_reset_at <= @now)
            {(filter is null ? "" : "AND " + filter)}
            ORDER BY {idColumn} FOR UPDATE
            """, connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add((reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
            }
        }

        var ids = new List<string>();
        var resets = new List<DateTimeOffset>();
        var zero = new List<bool>();
        foreach (var (id, duration, hadResetTime) in due)
        {
            if (BudgetDuration.NextReset(duration, now) is { } next)
            {
                ids.Add(id);
                resets.Add(next);
                zero.Add(hadResetTime);
            }
        }

        if (ids.Count > 0)
        {
            await using var update = new NpgsqlCommand($"""
                UPDATE {table} t SET spend = CASE WHEN d.zero THEN 0 ELSE t.spend END, budget_reset_at = d.reset_at, updated_at = now()
                FROM unnest(@ids, @resets, @zero) AS d(id, reset_at, zero)
                WHERE t.{idColumn} = d.id {(filter is null ? "" : "AND t." + filter)}
                RETURNING t.{idColumn}, t.spend, t.budget_reset_at
                """, connection, transaction);
            update.Parameters.Add(new NpgsqlParameter<string[]>("ids", [.. ids]));
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("resets", [.. resets]));
            update.Parameters.Add(new NpgsqlParameter<bool[]>("zero", [.. zero]));
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                changed.Add(new EntityTotal(entityType, reader.GetString(0), reader.GetDecimal(1), 0m, reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return changed;
    }

    /// <summary>
    /// The same on the embedded SQLite file, in one <c>BEGIN IMMEDIATE</c> transaction: it holds the only write lock, so
    /// no spend batch can run between reading what is due and resetting it.
    /// </summary>
    private async Task<IReadOnlyList<EntityTotal>> ResetDueSqliteAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var stamp = SqliteValues.Time(now);
        var changed = new List<EntityTotal>();
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var duration = ProxyBudget.Of(config.Current).BudgetDuration;
        await using (var proxy = connection.CreateCommand())
        {
            proxy.Transaction = transaction;
            proxy.CommandText = """
                INSERT INTO broker_spend_totals (entity_type, entity_id, budget_duration, updated_at) VALUES ('proxy', 'global', $duration, $now)
                ON CONFLICT (entity_type, entity_id) DO UPDATE SET budget_duration = excluded.budget_duration,
                    budget_reset_at = CASE WHEN excluded.budget_duration IS NULL THEN NULL ELSE broker_spend_totals.budget_reset_at END
                WHERE broker_spend_totals.budget_duration IS NOT excluded.budget_duration
                """;
            proxy.Parameters.AddWithValue("$duration", (object?)duration ?? DBNull.Value);
            proxy.Parameters.AddWithValue("$now", stamp);
            await proxy.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var (table, idColumn, entityType, filter) in Tables)
        {
            var due = new List<(string Id, string Duration, bool HadResetTime, decimal Spend)>();
            await using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = $"""
                    SELECT {idColumn}, budget_duration, budget_reset_at IS NOT NULL, spend FROM {table}
                    WHERE budget_duration IS NOT NULL AND (budget_reset_at IS NULL OR budget_reset_at <= $now)
                    {(filter is null ? "" : "AND " + filter)}
                    ORDER BY {idColumn}
                    """;
                select.Parameters.AddWithValue("$now", stamp);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    due.Add((reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), SqliteValues.ParseMoney(reader.GetString(3))));
                }
            }

            foreach (var (id, budgetDuration, hadResetTime, spend) in due)
            {
                if (BudgetDuration.NextReset(budgetDuration, now) is not { } next)
                {
                    continue;
                }

                var newSpend = hadResetTime ? 0m : spend;
                await using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = $"""
                    UPDATE {table} SET spend = $spend, budget_reset_at = $reset, updated_at = $now
                    WHERE {idColumn} = $id {(filter is null ? "" : "AND " + filter)}
                    """;
                update.Parameters.AddWithValue("$spend", SqliteValues.Money(newSpend));
                update.Parameters.AddWithValue("$reset", SqliteValues.Time(next));
                update.Parameters.AddWithValue("$now", stamp);
                update.Parameters.AddWithValue("$id", id);
                if (await update.ExecuteNonQueryAsync(cancellationToken) > 0)
                {
                    changed.Add(new EntityTotal(entityType, id, newSpend, 0m, next));
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return changed;
    }
}
