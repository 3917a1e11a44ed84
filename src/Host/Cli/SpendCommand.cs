using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Cli;

/// <summary>
/// <c>broker spend --days 7</c>: spend per day and model group from a running gateway's <c>/global/spend/report</c>
/// (LITELLM_PROXY_URL, default http://0.0.0.0:4000; LITELLM_PROXY_API_KEY as the master key), printed as a table.
/// </summary>
public static class SpendCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv, Func<HttpClient>? httpFactory = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(getEnv);
        var command = new Command("spend", "Print spend per day and model of a running gateway (LITELLM_PROXY_URL, LITELLM_PROXY_API_KEY)");
        var days = new Option<int>("--days", "-d") { Description = "Days back from today (UTC)", DefaultValueFactory = _ => 7 };
        command.Options.Add(days);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var baseUrl = (getEnv("LITELLM_PROXY_URL") is { Length: > 0 } url ? url : "http://0.0.0.0:4000").TrimEnd('/');
            var today = TimeProvider.System.GetUtcNow().UtcDateTime.Date;
            var from = today.AddDays(-Math.Max(1, parse.GetValue(days)) + 1);
            var path = $"{baseUrl}/global/spend/report?group_by=model&start_date={from:yyyy-MM-dd}&end_date={today:yyyy-MM-dd}";
            using var http = httpFactory?.Invoke() ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (getEnv("LITELLM_PROXY_API_KEY") is { Length: > 0 } key)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            string body;
            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    var message = JsonNode.Parse(body)?["error"]?["message"]?.GetValue<string>() ?? body;
                    await stderr.WriteLineAsync($"{baseUrl} answered {(int)response.StatusCode}: {message}");
                    return 1;
                }
            }
            catch (HttpRequestException ex)
            {
                await stderr.WriteLineAsync($"cannot reach {baseUrl} ({ex.Message}); set LITELLM_PROXY_URL");
                return 1;
            }

            await stdout.WriteAsync(Render(JsonNode.Parse(body)?.AsArray() ?? [], from, today));
            return 0;
        });
        return command;
    }

    /// <summary>The report as a fixed-width table with a total line.</summary>
    public static string Render(JsonArray report, DateTime from, DateTime to)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = new List<(string Day, string Model, long Requests, long Tokens, decimal Spend)>();
        foreach (var day in report.OfType<JsonObject>())
        {
            var date = day["group_by_day"]?.GetValue<string>() is { Length: >= 10 } d ? d[..10] : "?";
            foreach (var model in (day["models"] as JsonArray ?? []).OfType<JsonObject>())
            {
                rows.Add((date, model["model"]?.GetValue<string>() ?? "?", model["request_count"]?.GetValue<long>() ?? 0,
                    model["total_tokens"]?.GetValue<long>() ?? 0, model["total_spend"]?.GetValue<decimal>() ?? 0));
            }
        }

        var modelWidth = Math.Max(5, rows.Count == 0 ? 0 : rows.Max(r => r.Model.Length));
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Spend {from:yyyy-MM-dd} .. {to:yyyy-MM-dd} (UTC)");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"Date",-10}  {"Model".PadRight(modelWidth)}  {"Requests",10}  {"Tokens",12}  {"Spend (USD)",14}");
        text.AppendLine(new string('-', 10 + 2 + modelWidth + 2 + 10 + 2 + 12 + 2 + 14));
        foreach (var (day, model, requests, tokens, spend) in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{day,-10}  {model.PadRight(modelWidth)}  {requests,10}  {tokens,12}  {Usd(spend),14}");
        }

        text.AppendLine(new string('-', 10 + 2 + modelWidth + 2 + 10 + 2 + 12 + 2 + 14));
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{"Total",-10}  {"".PadRight(modelWidth)}  {rows.Sum(r => r.Requests),10}  {rows.Sum(r => r.Tokens),12}  {Usd(rows.Sum(r => r.Spend)),14}");
        return text.ToString();
    }

    private static string Usd(decimal amount) => amount.ToString("0.000000", CultureInfo.InvariantCulture);
}
