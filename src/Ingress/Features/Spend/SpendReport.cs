using System.Globalization;
using System.Text.Json.Nodes;
using Broker.ServiceDefaults.Database;
using Npgsql;

namespace Broker.Ingress.Features.Spend;

/// <summary>
/// LiteLLM's <c>/global/spend/report</c>: spend, tokens and requests per UTC day, grouped by team, key, customer, user or
/// model (with a per-model breakdown), from the spend logs of either store. PostgreSQL sums in SQL; SQLite sums the
/// same rows in decimal in C#; both order days, then names (ordinal, none last), then models, so the answers are equal.
/// </summary>
public static class SpendReport
{
    /// <summary>The group_by values LiteLLM takes (and their aliases).</summary>
    public static bool IsKnown(string groupBy) => Column(groupBy, sqlite: false) is not null;

    /// <summary>The report for spend logs that ended in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public static async Task<JsonArray> BuildAsync(
        BrokerDatabase database, string groupBy, DateTimeOffset start, DateTimeOffset? end, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var column = Column(groupBy, database.Kind == DatabaseKind.Sqlite)
            ?? throw new ArgumentException($"unknown group_by '{groupBy}'", nameof(groupBy));
        var where = "WHERE end_time >= @start" + (end is null ? "" : " AND end_time < @end");
        var parameters = new List<NpgsqlParameter> { new NpgsqlParameter<DateTimeOffset>("start", start) };
        if (end is { } to)
        {
            parameters.Add(new NpgsqlParameter<DateTimeOffset>("end", to));
        }

        var rows = database.Kind == DatabaseKind.Sqlite
            ? await SqliteRowsAsync(database, column, where, parameters, cancellationToken)
            : await PostgresRowsAsync(database, column, where, parameters, cancellationToken);
        return Render(rows, groupBy);
    }

    private static string? Column(string groupBy, bool sqlite) => groupBy switch
    {
        "team" => "team_id",
        "api_key" or "key" => "key_hash",
        "customer" or "end_user" => "end_user",
        "user" => "user_id",
        "model" => "model_group",
        "day" => sqlite ? "NULL" : "NULL::text",
        _ => null,
    };

    private static async Task<List<ReportRow>> PostgresRowsAsync(
        BrokerDatabase database, string column, string where, List<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand($"""
            SELECT date_trunc('day', end_time, 'UTC'), {column}, model_group, sum(cost), sum(total_tokens),
                   sum(prompt_tokens), sum(completion_tokens), count(*)
            FROM broker_spend_logs {where} GROUP BY 1, 2, 3 ORDER BY 1, {column} COLLATE "C", model_group COLLATE "C"
            """);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter.Clone());
        }

        var rows = new List<ReportRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ReportRow(reader.GetFieldValue<DateTimeOffset>(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2),
                reader.GetDecimal(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        return rows;
    }

    private static async Task<List<ReportRow>> SqliteRowsAsync(
        BrokerDatabase database, string column, string where, List<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        var sums = new SortedDictionary<(string Day, string? Name, string Model), ReportRow>(GroupOrder.Instance);
        await foreach (var (day, name, model, cost, tokens, prompt, completion) in SqliteSpendLogs.ReportRowsAsync(database, column, where, parameters, cancellationToken))
        {
            var key = (day, name, model);
            sums[key] = sums.TryGetValue(key, out var sum)
                ? sum with
                {
                    Spend = sum.Spend + cost, Tokens = sum.Tokens + tokens, Prompt = sum.Prompt + prompt,
                    Completion = sum.Completion + completion, Requests = sum.Requests + 1,
                }
                : new ReportRow(SqliteValues.ParseTime(day + "T00:00:00.0000000Z"), name, model, cost, tokens, prompt, completion, 1);
        }

        return [.. sums.Values];
    }

    private static JsonArray Render(List<ReportRow> rows, string groupBy)
    {
        var (listName, nameField) = groupBy switch
        {
            "team" => ("teams", "team_name"),
            "api_key" or "key" => ("api_keys", "api_key"),
            "customer" or "end_user" => ("customers", "customer"),
            "user" => ("users", "user_id"),
            "model" => ("models", "model"),
            _ => ("", ""),
        };
        var days = new JsonArray();
        JsonObject? day = null;
        JsonObject? entity = null;
        foreach (var row in rows)
        {
            var dayText = Iso(row.Day);
            if (day?["group_by_day"]?.GetValue<string>() != dayText)
            {
                day = new JsonObject { ["group_by_day"] = dayText, ["total_spend"] = 0m, ["total_tokens"] = 0L, ["request_count"] = 0L };
                if (listName.Length > 0)
                {
                    day[listName] = new JsonArray();
                }

                days.Add(day);
                entity = null;
            }

            Sum(day, row);
            if (listName.Length == 0)
            {
                continue;
            }

            var name = row.Name ?? "Unassigned";
            if (groupBy == "model")
            {
                day[listName]!.AsArray().Add(new JsonObject
                {
                    ["model"] = name, ["total_spend"] = row.Spend, ["total_tokens"] = row.Tokens,
                    ["total_input_tokens"] = row.Prompt, ["total_output_tokens"] = row.Completion, ["request_count"] = row.Requests,
                });
                continue;
            }

            if (entity?[nameField]?.GetValue<string>() != name)
            {
                entity = new JsonObject { [nameField] = name, ["total_spend"] = 0m, ["total_tokens"] = 0L, ["request_count"] = 0L, ["metadata"] = new JsonArray() };
                day[listName]!.AsArray().Add(entity);
            }

            Sum(entity, row);
            entity["metadata"]!.AsArray().Add(new JsonObject
            {
                ["model"] = row.Model, ["spend"] = row.Spend, ["total_tokens"] = row.Tokens, ["request_count"] = row.Requests,
            });
        }

        return days;
    }

    private static void Sum(JsonObject target, ReportRow row)
    {
        target["total_spend"] = target["total_spend"]!.GetValue<decimal>() + row.Spend;
        target["total_tokens"] = target["total_tokens"]!.GetValue<long>() + row.Tokens;
        target["request_count"] = target["request_count"]!.GetValue<long>() + row.Requests;
    }

    private static string Iso(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private sealed record ReportRow(DateTimeOffset Day, string? Name, string Model, decimal Spend, long Tokens, long Prompt, long Completion, long Requests);

    /// <summary>PostgreSQL's <c>ORDER BY day, name COLLATE "C", model COLLATE "C"</c>: ordinal, a missing name last.</summary>
    private sealed class GroupOrder : IComparer<(string Day, string? Name, string Model)>
    {
        public static readonly GroupOrder Instance = new();

        public int Compare((string Day, string? Name, string Model) x, (string Day, string? Name, string Model) y)
        {
            var day = string.CompareOrdinal(x.Day, y.Day);
            if (day != 0)
            {
                return day;
            }

            var name = (x.Name, y.Name) switch
            {
                (null, null) => 0,
                (null, _) => 1,
                (_, null) => -1,
                _ => string.CompareOrdinal(x.Name, y.Name),
            };
            return name != 0 ? name : string.CompareOrdinal(x.Model, y.Model);
        }
    }
}
