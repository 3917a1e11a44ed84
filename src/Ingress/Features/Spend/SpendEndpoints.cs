using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.ServiceDefaults.Database;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace Broker.Ingress.Features.Spend;

/// <summary>
/// LiteLLM's spend reports, read from the spend logs Billing writes (admin routes: master key):
/// <c>GET /spend/logs</c> and <c>GET /global/spend/report</c>.
/// </summary>
public static class SpendEndpoints
{
    private static readonly Dictionary<string, string> NoHeaders = [];
    private const int MaxRows = 10_000;

    public static RouteGroupBuilder MapSpend(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/spend/logs", async Task<IResult> (BrokerDatabase database, HttpContext http) =>
        {
            if (NoDatabase(database) is { } error)
            {
                return error;
            }

            var query = http.Request.Query;
            if (!TryDates(query, out var start, out var end, out var bad))
            {
                return bad!;
            }

            var summarize = !string.Equals(query["summarize"], "false", StringComparison.OrdinalIgnoreCase);
            var filters = new List<string>();
            var parameters = new List<NpgsqlParameter>();
            if (query["api_key"].ToString() is { Length: > 0 } apiKey)
            {
                filters.Add("key_hash = @key");
                parameters.Add(new NpgsqlParameter<string>("key", KeyHash(apiKey)));
            }

            if (query["user_id"].ToString() is { Length: > 0 } userId)
            {
                filters.Add("user_id = @user");
                parameters.Add(new NpgsqlParameter<string>("user", userId));
            }

            if (query["request_id"].ToString() is { Length: > 0 } requestId)
            {
                if (!Guid.TryParse(requestId, out var id))
                {
                    return OpenAiErrorResult.BadRequest($"request_id '{requestId}' is not a request id", "request_id");
                }

                filters.Add("request_id = @request");
                parameters.Add(new NpgsqlParameter<Guid>("request", id));
            }

            AddRange(filters, parameters, start, end);
            var where = filters.Count == 0 ? "" : "WHERE " + string.Join(" AND ", filters);
            // LiteLLM: a date range with summarize (the default) gives spend per day by user and model, else the rows
            if (start is not null && end is not null && summarize)
            {
                return new JsonTextResult((await SummaryAsync(database, where, parameters, http.RequestAborted)).ToJsonString(), NoHeaders);
            }

            return new JsonTextResult((await RowsAsync(database, where, parameters, http.RequestAborted)).ToJsonString(), NoHeaders);
        }).AdminOnly();

        group.MapGet("/global/spend/report", async Task<IResult> (BrokerDatabase database, TimeProvider time, HttpContext http) =>
        {
            if (NoDatabase(database) is { } error)
            {
                return error;
            }

            var query = http.Request.Query;
            if (!TryDates(query, out var start, out var end, out var bad))
            {
                return bad!;
            }

            var groupBy = query["group_by"].ToString() is { Length: > 0 } g ? g.ToLowerInvariant() : "team";
            if (!SpendReport.IsKnown(groupBy))
            {
                return OpenAiErrorResult.BadRequest($"group_by must be one of day, model, api_key, team, customer, user (got '{groupBy}')", "group_by");
            }

            var now = time.GetUtcNow().UtcDateTime.Date;
            var report = await SpendReport.BuildAsync(database, groupBy, start ?? new DateTimeOffset(now.AddDays(-30), TimeSpan.Zero), end, http.RequestAborted);
            return new JsonTextResult(report.ToJsonString(), NoHeaders);
        }).AdminOnly();
        return group;
    }

    /// <summary>The api_key filter: a key (sk-...) is hashed as the gateway stores it; a hash is taken as is.</summary>
    private static string KeyHash(string apiKey) =>
        apiKey.StartsWith("sk-", StringComparison.Ordinal)
            ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)))
            : apiKey;

    private static OpenAiErrorResult? NoDatabase(BrokerDatabase database) =>
        database.HasStore ? null : new OpenAiErrorResult(StatusCodes.Status400BadRequest,
            "No database is configured (general_settings.database_url): spend is not recorded", "invalid_request_error", null, "no_db_connection");

    private static bool TryDates(IQueryCollection query, out DateTimeOffset? start, out DateTimeOffset? end, out OpenAiErrorResult? error)
    {
        start = end = null;
        error = null;
        foreach (var name in new[] { "start_date", "end_date" })
        {
            if (query[name].ToString() is not { Length: > 0 } text)
            {
                continue;
            }

            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value) ||
                value.Year is < 1970 or > 9000)
            {
                error = OpenAiErrorResult.BadRequest($"{name} '{text}' is not a date (YYYY-MM-DD) from 1970 to 9000", name);
                return false;
            }

            if (name == "start_date")
            {
                start = value;
            }
            else
            {
                // a plain date means the whole day
                end = text.Length <= 10 ? value.AddDays(1) : value;
            }
        }

        if (start >= end)
        {
            error = OpenAiErrorResult.BadRequest("end_date is before start_date", "end_date");
            return false;
        }

        return true;
    }

    private static void AddRange(List<string> filters, List<NpgsqlParameter> parameters, DateTimeOffset? start, DateTimeOffset? end)
    {
        if (start is { } from)
        {
            filters.Add("end_time >= @start");
            parameters.Add(new NpgsqlParameter<DateTimeOffset>("start", from));
        }

        if (end is { } to)
        {
            filters.Add("end_time < @end");
            parameters.Add(new NpgsqlParameter<DateTimeOffset>("end", to));
        }
    }

    private static async Task<JsonArray> RowsAsync(BrokerDatabase database, string where, List<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        if (database.Kind == DatabaseKind.Sqlite)
        {
            return Rows(await SqliteSpendLogs.RowsAsync(database, where, parameters, MaxRows, cancellationToken));
        }

        await using var command = database.DataSource.CreateCommand($"""
            SELECT request_id, key_hash, cost, total_tokens, prompt_tokens, completion_tokens, start_time, end_time, ttft_ms,
                   model_group, deployment_id, provider, user_id, team_id, end_user, tags, cache_hit, status, key_alias, latency_ms,
                   guardrails, (SELECT g.guardrails FROM broker_spend_guardrails g WHERE g.request_id = broker_spend_logs.request_id)
            FROM broker_spend_logs {where} ORDER BY end_time DESC LIMIT {MaxRows}
            """);
        AddParameters(command, parameters);
        var rows = new List<SpendLogRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new SpendLogRow(
                reader.GetGuid(0).ToString(), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetDecimal(2), reader.GetInt32(3),
                reader.GetInt32(4), reader.GetInt32(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7),
                reader.IsDBNull(8) ? null : reader.GetDouble(8), reader.GetString(9), reader.GetString(10), reader.GetString(11),
                reader.IsDBNull(12) ? null : reader.GetString(12), reader.IsDBNull(13) ? null : reader.GetString(13),
                reader.IsDBNull(14) ? null : reader.GetString(14), reader.GetFieldValue<string[]>(15), reader.GetBoolean(16), reader.GetString(17),
                reader.IsDBNull(18) ? null : reader.GetString(18), reader.GetDouble(19), reader.IsDBNull(20) ? null : reader.GetString(20),
                reader.IsDBNull(21) ? null : reader.GetString(21)));
        }

        return Rows(rows);
    }

    /// <summary>LiteLLM's spend log rows, the same from either store.</summary>
    private static JsonArray Rows(IEnumerable<SpendLogRow> rows)
    {
        var json = new JsonArray();
        foreach (var row in rows)
        {
            json.Add(new JsonObject
            {
                ["request_id"] = row.RequestId,
                ["call_type"] = row.Provider == PassThrough.PassThroughForwarder.Provider ? "pass_through_endpoint" : "acompletion",
                ["api_key"] = row.KeyHash ?? "",
                ["spend"] = row.Cost,
                ["total_tokens"] = row.TotalTokens,
                ["prompt_tokens"] = row.PromptTokens,
                ["completion_tokens"] = row.CompletionTokens,
                ["startTime"] = Iso(row.StartTime),
                ["endTime"] = Iso(row.EndTime),
                ["completionStartTime"] = row.TtftMs is { } ttft ? Iso(row.StartTime.AddMilliseconds(ttft)) : null,
                ["model"] = row.ModelGroup,
                ["model_group"] = row.ModelGroup,
                ["model_id"] = row.DeploymentId,
                ["custom_llm_provider"] = row.Provider,
                ["user"] = row.UserId ?? "",
                ["team_id"] = row.TeamId,
                ["end_user"] = row.EndUser ?? "",
                ["request_tags"] = new JsonArray([.. row.Tags.Select(t => (JsonNode?)t)]),
                ["cache_hit"] = row.CacheHit.ToString(CultureInfo.InvariantCulture),
                ["status"] = row.Status,
                ["metadata"] = new JsonObject
                {
                    ["user_api_key_alias"] = row.KeyAlias,
                    ["latency_ms"] = row.LatencyMs,
                    // every guardrail that ran on the request (pre_call, during_call, post_call): name, mode, decision, latency_ms
                    ["guardrails"] = row.AllGuardrails(),
                },
            });
        }

        return json;
    }

    private static async Task<JsonArray> SummaryAsync(BrokerDatabase database, string where, List<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        if (database.Kind == DatabaseKind.Sqlite)
        {
            return Summary(await SqliteSpendLogs.DailyAsync(database, where, parameters, cancellationToken));
        }

        var daily = new List<(DateTimeOffset Day, string User, string Model, decimal Spend)>();
        await using var command = database.DataSource.CreateCommand($"""
            SELECT date_trunc('day', end_time, 'UTC') AS day, coalesce(user_id, ''), model_group, sum(cost)
            FROM broker_spend_logs {where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """);
        AddParameters(command, parameters);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                daily.Add((reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetDecimal(3)));
            }
        }

        return Summary(daily);
    }

    /// <summary>Spend per day (ordered), by user and by model, the same from either store.</summary>
    private static JsonArray Summary(IEnumerable<(DateTimeOffset Day, string User, string Model, decimal Spend)> daily)
    {
        var days = new JsonArray();
        JsonObject? current = null;
        foreach (var (at, user, model, spend) in daily)
        {
            var day = Iso(at);
            if (current?["startTime"]?.GetValue<string>() != day)
            {
                current = new JsonObject { ["startTime"] = day, ["spend"] = 0m, ["users"] = new JsonObject(), ["models"] = new JsonObject() };
                days.Add(current);
            }

            current["spend"] = current["spend"]!.GetValue<decimal>() + spend;
            Add(current["users"]!.AsObject(), user, spend);
            Add(current["models"]!.AsObject(), model, spend);
        }

        return days;
    }

    private static void AddParameters(NpgsqlCommand command, List<NpgsqlParameter> parameters)
    {
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter.Clone());
        }
    }

    private static void Add(JsonObject totals, string name, decimal spend) =>
        totals[name] = (totals[name]?.GetValue<decimal>() ?? 0m) + spend;

    private static string Iso(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
