using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Database;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Billing.Persistence;

/// <summary>
/// Writes a batch of usage events in one transaction: binary COPY into a staging table, one
/// <c>INSERT ... SELECT ... ON CONFLICT (request_id) DO NOTHING RETURNING</c> (so only events never counted before go on),
/// then one aggregated <c>spend = spend + delta</c> per key, user, team and other entity, with the rows locked in id
/// order so that several Billing processes never deadlock. A redelivered event adds nothing.
/// </summary>
public sealed class SpendWriter(BrokerDatabase database) : ISpendWriter
{
    private const string StageColumns =
        "request_id, key_hash, key_alias, user_id, team_id, end_user, model_group, deployment_id, provider, prompt_tokens, " +
        "completion_tokens, total_tokens, cost, price_known, start_time, end_time, latency_ms, ttft_ms, cache_hit, status, error_class, tags, " +
        "messages, response, guardrails";

    private const string CreateStage = $"""
        CREATE TEMP TABLE IF NOT EXISTS broker_spend_stage (
            request_id uuid, key_hash text, key_alias text, user_id text, team_id text, end_user text, model_group text,
            deployment_id text, provider text, prompt_tokens integer, completion_tokens integer, total_tokens integer,
            cost numeric, price_known boolean, start_time timestamptz, end_time timestamptz, latency_ms double precision,
            ttft_ms double precision, cache_hit boolean, status text, error_class text, tags text[], messages jsonb, response jsonb,
            guardrails jsonb
        ) ON COMMIT DELETE ROWS
        """;

    private const string InsertLogs = $"""
        INSERT INTO broker_spend_logs ({StageColumns})
        SELECT DISTINCT ON (request_id) {StageColumns} FROM broker_spend_stage ORDER BY request_id
        ON CONFLICT (request_id) DO NOTHING
        RETURNING key_hash, user_id, team_id, end_user, model_group, tags, cost
        """;

    // disable_spend_logs: only the request id is kept, so that a redelivery is still counted once
    private const string InsertCounted = """
        WITH counted AS (
            INSERT INTO broker_spend_counted (request_id)
            SELECT DISTINCT request_id FROM broker_spend_stage ORDER BY request_id
            ON CONFLICT (request_id) DO NOTHING
            RETURNING request_id)
        SELECT DISTINCT ON (s.request_id) s.key_hash, s.user_id, s.team_id, s.end_user, s.model_group, s.tags, s.cost
        FROM broker_spend_stage s JOIN counted c USING (request_id)
        ORDER BY s.request_id
        """;

    public async Task<SpendWriteResult> WriteAsync(
        IReadOnlyList<UsageRecorded> events, bool disableSpendLogs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand(CreateStage, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await CopyAsync(connection, events, cancellationToken);

        var deltas = new Deltas();
        var inserted = 0;
        await using (var insert = new NpgsqlCommand(disableSpendLogs ? InsertCounted : InsertLogs, connection, transaction))
        await using (var reader = await insert.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                inserted++;
                var cost = reader.GetDecimal(6);
                deltas.Add("proxy", "global", cost);
                deltas.Add("model_group", reader.GetString(4), cost);
                AddIfSet(deltas, "key", reader, 0, cost);
                AddIfSet(deltas, "user", reader, 1, cost);
                AddIfSet(deltas, "team", reader, 2, cost);
                AddIfSet(deltas, "end_user", reader, 3, cost);
                foreach (var tag in reader.GetFieldValue<string[]>(5).Distinct(StringComparer.Ordinal))
                {
                    deltas.Add("tag", tag, cost);
                }
            }
        }

        var totals = new List<EntityTotal>();
        if (inserted > 0)
        {
            totals.AddRange(await UpdateOwnedAsync(connection, transaction, "broker_keys", "token_hash", "key", deltas.Of("key"), cancellationToken));
            totals.AddRange(await UpdateOwnedAsync(connection, transaction, "broker_users", "user_id", "user", deltas.Of("user"), cancellationToken));
            totals.AddRange(await UpdateOwnedAsync(connection, transaction, "broker_teams", "team_id", "team", deltas.Of("team"), cancellationToken));
            totals.AddRange(await UpsertTotalsAsync(connection, transaction, deltas.Others(), cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return new SpendWriteResult(events.Count, inserted, totals);
    }

    private static void AddIfSet(Deltas deltas, string type, NpgsqlDataReader reader, int ordinal, decimal cost)
    {
        if (!reader.IsDBNull(ordinal) && reader.GetString(ordinal) is { Length: > 0 } id)
        {
            deltas.Add(type, id, cost);
        }
    }

    private static async Task CopyAsync(NpgsqlConnection connection, IReadOnlyList<UsageRecorded> events, CancellationToken cancellationToken)
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            $"COPY broker_spend_stage ({StageColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var e in events)
        {
            var caller = e.Caller;
            var end = e.CompletedAt.ToUniversalTime();
            var start = end - TimeSpan.FromMilliseconds(Math.Max(0, e.LatencyMs));
            await importer.StartRowAsync(cancellationToken);
            await importer.WriteAsync(e.RequestId, NpgsqlDbType.Uuid, cancellationToken);
            await Text(importer, caller?.KeyHash, cancellationToken);
            await Text(importer, caller?.KeyAlias, cancellationToken);
            await Text(importer, caller?.UserId, cancellationToken);
            await Text(importer, caller?.TeamId, cancellationToken);
            await Text(importer, caller?.EndUser, cancellationToken);
            await Text(importer, e.ModelGroup, cancellationToken);
            await Text(importer, e.DeploymentId, cancellationToken);
            await Text(importer, e.Provider, cancellationToken);
            await importer.WriteAsync(e.PromptTokens, NpgsqlDbType.Integer, cancellationToken);
            await importer.WriteAsync(e.CompletionTokens, NpgsqlDbType.Integer, cancellationToken);
            await importer.WriteAsync(e.PromptTokens + e.CompletionTokens, NpgsqlDbType.Integer, cancellationToken);
            await importer.WriteAsync(CostOf(e), NpgsqlDbType.Numeric, cancellationToken);
            await importer.WriteAsync(e.Cost is not null || e.CacheHit || !e.Succeeded, NpgsqlDbType.Boolean, cancellationToken);
            await importer.WriteAsync(start, NpgsqlDbType.TimestampTz, cancellationToken);
            await importer.WriteAsync(end, NpgsqlDbType.TimestampTz, cancellationToken);
            await importer.WriteAsync(e.LatencyMs, NpgsqlDbType.Double, cancellationToken);
            if (e.TimeToFirstTokenMs is { } ttft)
            {
                await importer.WriteAsync(ttft, NpgsqlDbType.Double, cancellationToken);
            }
            else
            {
                await importer.WriteNullAsync(cancellationToken);
            }

            await importer.WriteAsync(e.CacheHit, NpgsqlDbType.Boolean, cancellationToken);
            await importer.WriteAsync(e.Succeeded ? "success" : "failure", NpgsqlDbType.Text, cancellationToken);
            await Text(importer, e.ErrorClass, cancellationToken);
            await importer.WriteAsync((caller?.Tags ?? []).Select(t => PgText.Clean(t)!).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
            await Json(importer, e.Messages, cancellationToken);
            await Json(importer, e.Response, cancellationToken);
            await Json(importer, GuardrailsJson(e), cancellationToken);
        }

        await importer.CompleteAsync(cancellationToken);
    }

    public async Task<int> AddGuardrailsAsync(IReadOnlyList<GuardrailsDecided> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var kept = events.Where(e => e.Guardrails.Count > 0).ToList();
        if (kept.Count == 0)
        {
            return 0;
        }

        // one row per request, whether its spend row is there yet or not: the two are read together (no race to merge them)
        await using var command = database.DataSource.CreateCommand("""
            INSERT INTO broker_spend_guardrails (request_id, guardrails, decided_at)
            SELECT * FROM unnest(@request_id, @guardrails::jsonb[], @decided_at)
            ON CONFLICT (request_id) DO NOTHING
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("request_id", [.. kept.Select(e => e.RequestId)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("guardrails", [.. kept.Select(e => PgText.CleanJson(GuardrailsJson(e.Guardrails))!)]));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("decided_at", [.. kept.Select(e => e.DecidedAt.ToUniversalTime())]));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>What a request adds to spend: nothing for a cache hit or a failure, else its cost (0 when the price is unknown).</summary>
    public static decimal CostOf(UsageRecorded usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return usage.CacheHit || !usage.Succeeded ? 0m : usage.Cost ?? 0m;
    }

    // client text (user, tags, key alias, prompts) is cleaned of what PostgreSQL refuses: one request must never fail a batch
    private static Task Text(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(PgText.Clean(value)!, NpgsqlDbType.Text, cancellationToken);

    private static Task Json(NpgsqlBinaryImporter importer, string? json, CancellationToken cancellationToken) =>
        json is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(PgText.CleanJson(json)!, NpgsqlDbType.Jsonb, cancellationToken);

    /// <summary>Keys, users and teams: rows owned by the admin API; spend is added only to rows that exist.</summary>
    private static async Task<List<EntityTotal>> UpdateOwnedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string table, string idColumn, string entityType,
        (string[] Ids, decimal[] Amounts) deltas, CancellationToken cancellationToken)
    {
        var totals = new List<EntityTotal>();
        if (deltas.Ids.Length == 0)
        {
            return totals;
        }

        // what a budget alert names besides the id: a key's user, team, alias and its user's email; a user's email
        var extra = entityType switch
        {
            "key" => "t.user_id, t.team_id, t.key_alias, (SELECT u.user_email FROM broker_users u WHERE u.user_id = t.user_id)",
            "user" => "NULL::text, NULL::text, NULL::text, t.user_email",
            _ => "NULL::text, NULL::text, NULL::text, NULL::text",
        };
        var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                // lock in id order first: two Billing processes touching the same keys wait, never deadlock
                new NpgsqlBatchCommand($"SELECT 1 FROM {table} WHERE {idColumn} = ANY(@ids) ORDER BY {idColumn} FOR UPDATE")
                {
                    Parameters = { new NpgsqlParameter<string[]>("ids", deltas.Ids) },
                },
                new NpgsqlBatchCommand($"""
                    UPDATE {table} t SET spend = t.spend + d.delta, updated_at = now()
                    FROM unnest(@ids, @deltas) AS d(id, delta)
                    WHERE t.{idColumn} = d.id
                    RETURNING t.{idColumn}, t.spend, d.delta, t.budget_reset_at, t.max_budget, t.soft_budget, {extra}
                    """)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<string[]>("ids", deltas.Ids),
                        new NpgsqlParameter<decimal[]>("deltas", deltas.Amounts),
                    },
                },
            },
        };
        await using (batch)
        {
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                totals.Add(new EntityTotal(entityType, reader.GetString(0), reader.GetDecimal(1), reader.GetDecimal(2),
                    reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                    reader.IsDBNull(4) ? null : reader.GetDecimal(4),
                    reader.IsDBNull(5) ? null : reader.GetDecimal(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8),
                    reader.IsDBNull(9) ? null : reader.GetString(9)));
            }
        }

        return totals;
    }

    /// <summary>End users, the proxy, tags and model groups: upserted in (type, id) order.</summary>
    private static async Task<List<EntityTotal>> UpsertTotalsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, (string[] Types, string[] Ids, decimal[] Amounts) deltas,
        CancellationToken cancellationToken)
    {
        var totals = new List<EntityTotal>();
        await using var command = new NpgsqlCommand("""
            INSERT INTO broker_spend_totals (entity_type, entity_id, spend)
            SELECT type, id, delta FROM unnest(@types, @ids, @deltas) AS d(type, id, delta) ORDER BY type, id
            ON CONFLICT (entity_type, entity_id) DO UPDATE SET spend = broker_spend_totals.spend + EXCLUDED.spend, updated_at = now()
            RETURNING entity_type, entity_id, spend, budget_reset_at
            """, connection, transaction)
        {
            Parameters =
            {
                new NpgsqlParameter<string[]>("types", deltas.Types),
                new NpgsqlParameter<string[]>("ids", deltas.Ids),
                new NpgsqlParameter<decimal[]>("deltas", deltas.Amounts),
            },
        };
        var byKey = new Dictionary<(string, string), decimal>();
        for (var i = 0; i < deltas.Ids.Length; i++)
        {
            byKey[(deltas.Types[i], deltas.Ids[i])] = deltas.Amounts[i];
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var type = reader.GetString(0);
            var id = reader.GetString(1);
            totals.Add(new EntityTotal(type, id, reader.GetDecimal(2), byKey.GetValueOrDefault((type, id)),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return totals;
    }

    /// <summary>Amounts per (entity type, id), summed exactly in decimal.</summary>
    private sealed class Deltas
    {
        private static readonly string[] Owned = ["key", "user", "team"];
        private readonly SortedDictionary<(string Type, string Id), decimal> _amounts = new();

        public void Add(string type, string id, decimal amount) =>
            _amounts[(type, id)] = _amounts.GetValueOrDefault((type, id)) + amount;

        public (string[] Ids, decimal[] Amounts) Of(string type)
        {
            var rows = _amounts.Where(p => p.Key.Type == type).ToList();
            return ([.. rows.Select(r => r.Key.Id)], [.. rows.Select(r => r.Value)]);
        }

        public (string[] Types, string[] Ids, decimal[] Amounts) Others()
        {
            var rows = _amounts.Where(p => !Owned.Contains(p.Key.Type)).ToList();
            return ([.. rows.Select(r => r.Key.Type)], [.. rows.Select(r => r.Key.Id)], [.. rows.Select(r => r.Value)]);
        }
    }

    /// <summary>The request's guardrail decisions as the <c>guardrails</c> column keeps them (null when none ran).</summary>
    internal static string? GuardrailsJson(UsageRecorded e) => GuardrailsJson(e.Guardrails);

    /// <summary>Guardrail decisions as the <c>guardrails</c> columns keep them: [{guardrail, mode, decision, latency_ms}] (null when none).</summary>
    internal static string? GuardrailsJson(IReadOnlyList<GuardrailOutcome>? guardrails) =>
        guardrails is not { Count: > 0 } outcomes
            ? null
            : new System.Text.Json.Nodes.JsonArray([.. outcomes.Select(o => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
            {
                ["guardrail"] = o.Guardrail,
                ["mode"] = o.Mode,
                ["decision"] = o.Decision,
                ["latency_ms"] = Math.Round(o.LatencyMs, 3),
            })]).ToJsonString();
}
