using System.Globalization;
using System.Text;
using Broker.Contracts.Alerts;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Broker.Billing.Alerts;

/// <summary>
/// <c>spend_reports</c> every alerting_args.spend_report_frequency (<c>1d</c>, ...): total spend and the top keys and teams
/// by spend since their last budget reset, read from the state store (broker_keys, broker_teams in PostgreSQL or the
/// embedded SQLite file). The de-duplication key is the period, so several Billing processes send one report per period.
/// </summary>
public sealed class SpendReportService(
    AlertingOptions options,
    BrokerDatabase database,
    IBus bus,
    TimeProvider timeProvider,
    ILogger<SpendReportService> logger) : BackgroundService
{
    public const int TopN = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.SpendReportFrequency is not { } frequency || !options.IsOn(AlertKinds.SpendReports) || !database.HasStore)
        {
            return;
        }

        using var timer = new PeriodicTimer(frequency, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await database.WhenMigrated(stoppingToken);
                var alert = await BuildAsync(frequency, stoppingToken);
                await bus.Publish(alert, stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log.SpendReportFailed(logger, ex.Message);
            }
        }
    }

    /// <summary>The report for the period that has just ended.</summary>
    public async Task<AlertRaised> BuildAsync(TimeSpan frequency, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var period = now.ToUnixTimeMilliseconds() / (long)Math.Max(1, frequency.TotalMilliseconds);
        var (keys, teams, total) = database.Kind == DatabaseKind.Sqlite
            ? await ReadSqliteAsync(cancellationToken)
            : await ReadPostgresAsync(cancellationToken);

        var text = new StringBuilder();
        text.Append("Spend report (every ").Append(Describe(frequency)).Append("): total $").AppendLine(Money(total));
        text.AppendLine("Top keys:");
        AppendList(text, keys);
        text.AppendLine("Top teams:");
        AppendList(text, teams);
        return new AlertRaised
        {
            Kind = AlertKinds.SpendReports,
            DedupeKey = $"{AlertKinds.SpendReports}:{(long)frequency.TotalSeconds}:{period}",
            Level = "Low",
            Message = text.ToString().TrimEnd(),
            RaisedAt = now,
            Data = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["event"] = "spend_report",
                ["event_group"] = "proxy",
                ["spend"] = Money(total),
                ["top_keys"] = string.Join(", ", keys.Select(k => $"{k.Name}={Money(k.Spend)}")),
                ["top_teams"] = string.Join(", ", teams.Select(t => $"{t.Name}={Money(t.Spend)}")),
            },
        };
    }

    private async Task<(List<(string Name, decimal Spend)> Keys, List<(string Name, decimal Spend)> Teams, decimal Total)> ReadPostgresAsync(
        CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        var keys = await TopAsync(connection, "SELECT coalesce(key_alias, key_name), spend FROM broker_keys WHERE spend > 0 ORDER BY spend DESC, token_hash COLLATE \"C\" LIMIT @n", cancellationToken);
        var teams = await TopAsync(connection, "SELECT coalesce(team_alias, team_id), spend FROM broker_teams WHERE spend > 0 ORDER BY spend DESC, team_id COLLATE \"C\" LIMIT @n", cancellationToken);
        await using var sum = new NpgsqlCommand("SELECT coalesce(sum(spend), 0) FROM broker_keys", connection);
        return (keys, teams, (decimal)(await sum.ExecuteScalarAsync(cancellationToken))!);
    }

    /// <summary>The SQLite twin: amounts are decimal text, so they are compared and added up here, in decimal.</summary>
    private async Task<(List<(string Name, decimal Spend)> Keys, List<(string Name, decimal Spend)> Teams, decimal Total)> ReadSqliteAsync(
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        var keys = await SpendOfAsync(connection, "SELECT coalesce(key_alias, key_name), spend, token_hash FROM broker_keys", cancellationToken);
        var teams = await SpendOfAsync(connection, "SELECT coalesce(team_alias, team_id), spend, team_id FROM broker_teams", cancellationToken);
        return (Top(keys), Top(teams), keys.Sum(k => k.Spend));

        static List<(string Name, decimal Spend)> Top(List<(string Name, decimal Spend, string Id)> rows) =>
        [
            .. rows.Where(r => r.Spend > 0).OrderByDescending(r => r.Spend).ThenBy(r => r.Id, StringComparer.Ordinal).Take(TopN).Select(r => (r.Name, r.Spend)),
        ];
    }

    private static async Task<List<(string Name, decimal Spend, string Id)>> SpendOfAsync(
        Microsoft.Data.Sqlite.SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(string, decimal, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.IsDBNull(0) ? "?" : reader.GetString(0), SqliteValues.ParseMoney(reader.GetString(1)), reader.GetString(2)));
        }

        return rows;
    }

    private static async Task<List<(string Name, decimal Spend)>> TopAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("n", TopN);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(string, decimal)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.IsDBNull(0) ? "?" : reader.GetString(0), reader.GetDecimal(1)));
        }

        return rows;
    }

    private static void AppendList(StringBuilder text, List<(string Name, decimal Spend)> rows)
    {
        if (rows.Count == 0)
        {
            text.AppendLine("  (none)");
        }

        for (var i = 0; i < rows.Count; i++)
        {
            text.Append("  ").Append(i + 1).Append(". ").Append(rows[i].Name).Append(": $").AppendLine(Money(rows[i].Spend));
        }
    }

    private static string Money(decimal value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    private static string Describe(TimeSpan frequency) =>
        frequency.TotalDays >= 1 && frequency.TotalDays % 1 == 0 ? $"{frequency.TotalDays:0}d"
        : frequency.TotalHours >= 1 && frequency.TotalHours % 1 == 0 ? $"{frequency.TotalHours:0}h"
        : $"{frequency.TotalSeconds:0}s";
}
