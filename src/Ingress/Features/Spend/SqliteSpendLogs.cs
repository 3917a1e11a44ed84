using Broker.ServiceDefaults.Database;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Broker.Ingress.Features.Spend;

/// <summary>
/// The spend log reads of <see cref="SpendEndpoints"/> on the embedded SQLite file: the same filters (the named
/// parameters are SQLite's too; times and ids are compared as the text SQLite keeps them in), amounts added in decimal.
/// </summary>
public static class SqliteSpendLogs
{
    public static async Task<IReadOnlyList<SpendLogRow>> RowsAsync(
        BrokerDatabase database, string where, IReadOnlyList<NpgsqlParameter> parameters, int maxRows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT request_id, key_hash, cost, total_tokens, prompt_tokens, completion_tokens, start_time, end_time, ttft_ms,
                   model_group, deployment_id, provider, user_id, team_id, end_user, tags, cache_hit, status, key_alias, latency_ms,
                   guardrails, (SELECT g.guardrails FROM broker_spend_guardrails g WHERE g.request_id = broker_spend_logs.request_id)
            FROM broker_spend_logs {where} ORDER BY end_time DESC LIMIT {maxRows}
            """;
        AddParameters(command, parameters);
        var rows = new List<SpendLogRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new SpendLogRow(
                reader.GetString(0), SqliteValues.Text(reader, 1), SqliteValues.ParseMoney(reader.GetString(2)), reader.GetInt32(3),
                reader.GetInt32(4), reader.GetInt32(5), SqliteValues.ParseTime(reader.GetString(6)), SqliteValues.ParseTime(reader.GetString(7)),
                reader.IsDBNull(8) ? null : reader.GetDouble(8), reader.GetString(9), reader.GetString(10), reader.GetString(11),
                SqliteValues.Text(reader, 12), SqliteValues.Text(reader, 13), SqliteValues.Text(reader, 14),
                SqliteValues.ParseArray(reader.GetString(15)), reader.GetInt64(16) != 0, reader.GetString(17), SqliteValues.Text(reader, 18),
                reader.GetDouble(19), SqliteValues.Text(reader, 20), SqliteValues.Text(reader, 21)));
        }

        return rows;
    }

    /// <summary>Spend per UTC day, user ('' for none) and model group, ordered by those.</summary>
    public static async Task<IReadOnlyList<(DateTimeOffset Day, string User, string Model, decimal Spend)>> DailyAsync(
        BrokerDatabase database, string where, IReadOnlyList<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT substr(end_time, 1, 10), coalesce(user_id, ''), model_group, cost FROM broker_spend_logs {where}";
        AddParameters(command, parameters);
        var sums = new SortedDictionary<(string Day, string User, string Model), decimal>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
                sums[key] = sums.GetValueOrDefault(key) + SqliteValues.ParseMoney(reader.GetString(3));
            }
        }

        return [.. sums.Select(p => (SqliteValues.ParseTime(p.Key.Day + "T00:00:00.0000000Z"), p.Key.User, p.Key.Model, p.Value))];
    }

    /// <summary>
    /// The rows of a spend report, one per spend log: UTC day (yyyy-MM-dd), the grouped column's value, model group,
    /// cost and tokens (<see cref="SpendReport"/> adds them up in decimal).
    /// </summary>
    public static async IAsyncEnumerable<(string Day, string? Name, string Model, decimal Cost, long Tokens, long Prompt, long Completion)> ReportRowsAsync(
        BrokerDatabase database, string column, string where, IReadOnlyList<NpgsqlParameter> parameters,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT substr(end_time, 1, 10), {column}, model_group, cost, total_tokens, prompt_tokens, completion_tokens
            FROM broker_spend_logs {where}
            """;
        AddParameters(command, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return (reader.GetString(0), SqliteValues.Text(reader, 1), reader.GetString(2), SqliteValues.ParseMoney(reader.GetString(3)),
                reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
        }
    }

    private static void AddParameters(SqliteCommand command, IReadOnlyList<NpgsqlParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue("@" + parameter.ParameterName, parameter.Value switch
            {
                DateTimeOffset at => SqliteValues.Time(at),
                Guid id => id.ToString(),
                null => DBNull.Value,
                var value => value,
            });
        }
    }
}
