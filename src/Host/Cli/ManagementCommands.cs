using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Cli;

/// <summary>
/// <c>broker create-key|create-user|create-team</c>: calls a running gateway's <c>/key/generate</c>, <c>/user/new</c>,
/// <c>/team/new</c> at <c>LITELLM_PROXY_URL</c> (default http://localhost:4000) with <c>LITELLM_PROXY_API_KEY</c>
/// (the master key), like LiteLLM's CLI, and prints the JSON answer (the new key is shown only there).
/// </summary>
internal static class ManagementCommands
{
    private enum Kind
    {
        Text,
        Number,
        List,
        Json,
    }

    private static readonly (string Name, Kind Kind, string Description)[] Budget =
    [
        ("max_budget", Kind.Number, "Budget in USD"),
        ("soft_budget", Kind.Number, "Soft budget in USD (alert only)"),
        ("budget_duration", Kind.Text, "Budget period: 30s, 30m, 30h, 30d, 1mo"),
        ("models", Kind.List, "Allowed models or access groups (comma-separated)"),
        ("rpm_limit", Kind.Number, "Requests per minute"),
        ("tpm_limit", Kind.Number, "Tokens per minute"),
        ("max_parallel_requests", Kind.Number, "Requests in flight at once"),
        ("metadata", Kind.Json, "Metadata as a JSON object"),
    ];

    public static void Add(RootCommand root, TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv)
    {
        root.Subcommands.Add(Command("create-key", "Create a virtual key on a running gateway (POST /key/generate)", "/key/generate",
            [("duration", Kind.Text, "Lifetime: 30s, 30m, 30h, 30d (default: never expires)"), ("key_alias", Kind.Text, "Alias"),
             ("user_id", Kind.Text, "Owner user"), ("team_id", Kind.Text, "Owner team"), ("aliases", Kind.Json, "Model aliases as a JSON object"), .. Budget],
            stdout, stderr, getEnv));
        root.Subcommands.Add(Command("create-user", "Create a user (and a key for it) on a running gateway (POST /user/new)", "/user/new",
            [("user_id", Kind.Text, "User id (default: generated)"), ("user_email", Kind.Text, "E-mail"), ("user_role", Kind.Text, "Role"),
             ("teams", Kind.List, "Teams (comma-separated)"), ("duration", Kind.Text, "Lifetime of the user's key"), .. Budget],
            stdout, stderr, getEnv));
        root.Subcommands.Add(Command("create-team", "Create a team on a running gateway (POST /team/new)", "/team/new",
            [("team_id", Kind.Text, "Team id (default: generated)"), ("team_alias", Kind.Text, "Alias"), .. Budget],
            stdout, stderr, getEnv));
    }

    private static Command Command(
        string name, string description, string path, (string Name, Kind Kind, string Description)[] fields, TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv)
    {
        var command = new Command(name, description);
        var options = new List<(Option<string?> Option, string Field, Kind Kind)>();
        foreach (var (field, kind, text) in fields)
        {
            var option = new Option<string?>("--" + field, "--" + field.Replace('_', '-')) { Description = text };
            command.Options.Add(option);
            options.Add((option, field, kind));
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var body = new JsonObject();
            foreach (var (option, field, kind) in options)
            {
                if (parse.GetValue(option) is not { } value)
                {
                    continue;
                }

                switch (kind)
                {
                    case Kind.Number when decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number):
                        body[field] = number;
                        break;
                    case Kind.Number:
                        await stderr.WriteLineAsync($"error: --{field} must be a number (got '{value}')");
                        return 2;
                    case Kind.List:
                        body[field] = new JsonArray(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(v => (JsonNode?)v).ToArray());
                        break;
                    case Kind.Json:
                        try
                        {
                            body[field] = JsonNode.Parse(value);
                        }
                        catch (System.Text.Json.JsonException)
                        {
                            await stderr.WriteLineAsync($"error: --{field} must be a JSON object");
                            return 2;
                        }

                        break;
                    default:
                        body[field] = value;
                        break;
                }
            }

            var baseUrl = (getEnv("LITELLM_PROXY_URL") is { Length: > 0 } u ? u : "http://localhost:4000").TrimEnd('/');
            var apiKey = getEnv("LITELLM_PROXY_API_KEY");
            if (string.IsNullOrEmpty(apiKey))
            {
                await stderr.WriteLineAsync("error: set LITELLM_PROXY_API_KEY to the gateway's master key (and LITELLM_PROXY_URL, default http://localhost:4000)");
                return 2;
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + path)
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    await stderr.WriteLineAsync($"error: {(int)response.StatusCode} {text}");
                    return 1;
                }

                await stdout.WriteLineAsync(text);
                return 0;
            }
            catch (HttpRequestException ex)
            {
                await stderr.WriteLineAsync($"error: {baseUrl} does not answer: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
