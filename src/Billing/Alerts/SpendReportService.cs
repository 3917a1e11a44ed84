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
/// by spend since their last budget reset, read from PostgreSQL (broker_keys, broker_teams). The de-duplication key
/// is the period, so several Billing processes send one report per period.
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
        if (options.SpendReportFrequency is not { } frequency || !options.IsOn(AlertKinds.SpendReports) || !database.IsConfigured)
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
            catch (NpgsqlException ex)
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
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        var keys = await TopAsync(connection, "SELECT coalesce(key_alias, key_name), spend FROM broker_keys WHERE spend > 0 ORDER BY spend DESC, token_hash LIMIT @n", cancellationToken);
        var teams = await TopAsync(connection, "SELECT coalesce(team_alias, team_id), spend FROM broker_teams WHERE spend > 0 ORDER BY spend DESC, team_id LIMIT @n", cancellationToken);
        decimal total;
        await using (var sum = new NpgsqlCommand("SELECT coalesce(sum(spend), 0) FROM broker_keys", connection))
        {
            total = (decimal)(await sum.ExecuteScalarAsync(cancellationToken))!;
        }

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
