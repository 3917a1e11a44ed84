using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Database;
using Microsoft.Data.Sqlite;

namespace Broker.Billing.Persistence;

/// <summary>
/// <see cref="SpendWriter"/>'s behaviour on the embedded SQLite file. SQLite has one writer at a time, so the batch runs
/// in one <c>BEGIN IMMEDIATE</c> transaction (it takes the write lock first: no row locks are needed, and totals are
/// read, added in decimal and written back without another writer in between). A request id already counted inserts
/// nothing (<c>ON CONFLICT DO NOTHING</c>) and adds nothing.
/// </summary>
public sealed class SqliteSpendWriter(BrokerDatabase database, TimeProvider time) : ISpendWriter
{
    public async Task<SpendWriteResult> WriteAsync(IReadOnlyList<UsageRecorded> events, bool disableSpendLogs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var now = SqliteValues.Time(time.GetUtcNow());
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var deltas = new SortedDictionary<(string Type, string Id), decimal>();
        void Add(string type, string? id, decimal cost)
        {
            if (id is { Length: > 0 })
            {
                deltas[(type, id)] = deltas.GetValueOrDefault((type, id)) + cost;
            }
        }

        var inserted = 0;
        foreach (var e in events)
        {
            if (await InsertAsync(connection, transaction, e, disableSpendLogs, now, cancellationToken) == 0)
            {
                continue;
            }

            inserted++;
            var cost = SpendWriter.CostOf(e);
            var caller = e.Caller;
            Add("proxy", "global", cost);
            Add("model_group", PgText.Clean(e.ModelGroup), cost);
            Add("key", PgText.Clean(caller?.KeyHash), cost);
            Add("user", PgText.Clean(caller?.UserId), cost);
            Add("team", PgText.Clean(caller?.TeamId), cost);
            Add("end_user", PgText.Clean(caller?.EndUser), cost);
            foreach (var tag in (caller?.Tags ?? []).Select(t => PgText.Clean(t)!).Distinct(StringComparer.Ordinal))
            {
                Add("tag", tag, cost);
            }
        }

        var totals = new List<EntityTotal>();
        foreach (var ((type, id), delta) in deltas)
        {
            var total = type switch
            {
                "key" => await UpdateOwnedAsync(connection, transaction, "broker_keys", "token_hash", type, id, delta, now, cancellationToken),
                "user" => await UpdateOwnedAsync(connection, transaction, "broker_users", "user_id", type, id, delta, now, cancellationToken),
                "team" => await UpdateOwnedAsync(connection, transaction, "broker_teams", "team_id", type, id, delta, now, cancellationToken),
                _ => await UpsertTotalAsync(connection, transaction, type, id, delta, now, cancellationToken),
            };
            if (total is not null)
            {
                totals.Add(total);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new SpendWriteResult(events.Count, inserted, totals);
    }

    public async Task<int> AddGuardrailsAsync(IReadOnlyList<GuardrailsDecided> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var kept = events.Where(e => e.Guardrails.Count > 0).ToList();
        if (kept.Count == 0)
        {
            return 0;
        }

        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var inserted = 0;
        foreach (var e in kept)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO broker_spend_guardrails (request_id, guardrails, decided_at) VALUES ($request_id, $guardrails, $decided_at)
                ON CONFLICT (request_id) DO NOTHING
                """;
            command.Parameters.AddWithValue("$request_id", e.RequestId.ToString());
            command.Parameters.AddWithValue("$guardrails", PgText.CleanJson(SpendWriter.GuardrailsJson(e.Guardrails)));
            command.Parameters.AddWithValue("$decided_at", SqliteValues.Time(e.DecidedAt));
            inserted += await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return inserted;
    }

    private static async Task<int> InsertAsync(
        SqliteConnection connection, SqliteTransaction transaction, UsageRecorded e, bool disableSpendLogs, string now, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$request_id", e.RequestId.ToString());
        if (disableSpendLogs)
        {
            command.CommandText = "INSERT INTO broker_spend_counted (request_id, counted_at) VALUES ($request_id, $now) ON CONFLICT (request_id) DO NOTHING";
            command.Parameters.AddWithValue("$now", now);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var caller = e.Caller;
        var end = e.CompletedAt.ToUniversalTime();
        var start = end - TimeSpan.FromMilliseconds(Math.Max(0, e.LatencyMs));
        command.CommandText = """
            INSERT INTO broker_spend_logs (request_id, key_hash, key_alias, user_id, team_id, end_user, model_group, deployment_id, provider,
                prompt_tokens, completion_tokens, total_tokens, cost, price_known, start_time, end_time, latency_ms, ttft_ms, cache_hit, status,
                error_class, tags, messages, response, guardrails)
            VALUES ($request_id, $key_hash, $key_alias, $user_id, $team_id, $end_user, $model_group, $deployment_id, $provider,
                $prompt_tokens, $completion_tokens, $total_tokens, $cost, $price_known, $start_time, $end_time, $latency_ms, $ttft_ms, $cache_hit, $status,
                $error_class, $tags, $messages, $response, $guardrails)
            ON CONFLICT (request_id) DO NOTHING
            """;
        void Set(string name, object? value) => command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        Set("$key_hash", PgText.Clean(caller?.KeyHash));
        Set("$key_alias", PgText.Clean(caller?.KeyAlias));
        Set("$user_id", PgText.Clean(caller?.UserId));
        Set("$team_id", PgText.Clean(caller?.TeamId));
        Set("$end_user", PgText.Clean(caller?.EndUser));
        Set("$model_group", PgText.Clean(e.ModelGroup));
        Set("$deployment_id", PgText.Clean(e.DeploymentId));
        Set("$provider", PgText.Clean(e.Provider));
        Set("$prompt_tokens", e.PromptTokens);
        Set("$completion_tokens", e.CompletionTokens);
        Set("$total_tokens", e.PromptTokens + e.CompletionTokens);
        Set("$cost", SqliteValues.Money(SpendWriter.CostOf(e)));
        Set("$price_known", e.Cost is not null || e.CacheHit || !e.Succeeded);
        Set("$start_time", SqliteValues.Time(start));
        Set("$end_time", SqliteValues.Time(end));
        Set("$latency_ms", e.LatencyMs);
        Set("$ttft_ms", e.TimeToFirstTokenMs);
        Set("$cache_hit", e.CacheHit);
        Set("$status", e.Succeeded ? "success" : "failure");
        Set("$error_class", PgText.Clean(e.ErrorClass));
        Set("$tags", SqliteValues.Array((caller?.Tags ?? []).Select(t => PgText.Clean(t)!)));
        Set("$messages", PgText.CleanJson(e.Messages));
        Set("$response", PgText.CleanJson(e.Response));
        Set("$guardrails", PgText.CleanJson(SpendWriter.GuardrailsJson(e)));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Keys, users and teams: rows owned by the admin API; spend is added only to a row that exists.</summary>
    private static async Task<EntityTotal?> UpdateOwnedAsync(
        SqliteConnection connection, SqliteTransaction transaction, string table, string idColumn, string entityType, string id, decimal delta,
        string now, CancellationToken cancellationToken)
    {
        var extra = entityType switch
        {
            "key" => "t.user_id, t.team_id, t.key_alias, (SELECT u.user_email FROM broker_users u WHERE u.user_id = t.user_id)",
            "user" => "NULL, NULL, NULL, t.user_email",
            _ => "NULL, NULL, NULL, NULL",
        };
        await using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = $"SELECT t.spend, t.budget_reset_at, t.max_budget, t.soft_budget, {extra} FROM {table} t WHERE t.{idColumn} = $id";
        select.Parameters.AddWithValue("$id", id);
        EntityTotal total;
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            total = new EntityTotal(entityType, id, SqliteValues.ParseMoney(reader.GetString(0)) + delta, delta,
                SqliteValues.Time(reader, 1), SqliteValues.Money(reader, 2), SqliteValues.Money(reader, 3),
                SqliteValues.Text(reader, 4), SqliteValues.Text(reader, 5), SqliteValues.Text(reader, 6), SqliteValues.Text(reader, 7));
        }

        await using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = $"UPDATE {table} SET spend = $spend, updated_at = $now WHERE {idColumn} = $id";
        update.Parameters.AddWithValue("$spend", SqliteValues.Money(total.Spend));
        update.Parameters.AddWithValue("$now", now);
        update.Parameters.AddWithValue("$id", id);
        await update.ExecuteNonQueryAsync(cancellationToken);
        return total;
    }

    /// <summary>End users, the proxy, tags and model groups: a running total row, created on first spend.</summary>
    private static async Task<EntityTotal> UpsertTotalAsync(
        SqliteConnection connection, SqliteTransaction transaction, string type, string id, decimal delta, string now, CancellationToken cancellationToken)
    {
        await using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT spend, budget_reset_at FROM broker_spend_totals WHERE entity_type = $type AND entity_id = $id";
        select.Parameters.AddWithValue("$type", type);
        select.Parameters.AddWithValue("$id", id);
        decimal spend = 0;
        DateTimeOffset? resetAt = null;
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                spend = SqliteValues.ParseMoney(reader.GetString(0));
                resetAt = SqliteValues.Time(reader, 1);
            }
        }

        await using var upsert = connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = """
            INSERT INTO broker_spend_totals (entity_type, entity_id, spend, updated_at) VALUES ($type, $id, $spend, $now)
            ON CONFLICT (entity_type, entity_id) DO UPDATE SET spend = excluded.spend, updated_at = excluded.updated_at
            """;
        upsert.Parameters.AddWithValue("$type", type);
        upsert.Parameters.AddWithValue("$id", id);
        upsert.Parameters.AddWithValue("$spend", SqliteValues.Money(spend + delta));
        upsert.Parameters.AddWithValue("$now", now);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
        return new EntityTotal(type, id, spend + delta, delta, resetAt);
    }
}
