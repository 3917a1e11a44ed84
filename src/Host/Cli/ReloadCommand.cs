using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Broker.Host.Cli;

/// <summary>
/// <c>broker reload</c>: tells a running gateway to re-read its config.yaml now (<c>POST /config/reload</c> at
/// LITELLM_PROXY_URL, default http://localhost:4000, with LITELLM_PROXY_API_KEY as the master key); that process
/// announces it on the bus, so every process re-reads its own file. Prints the model groups in force, or every error
/// of an invalid file (exit 1; the running config stays). SIGHUP to a process does the same for that process.
/// </summary>
public static class ReloadCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv, Func<HttpClient>? httpFactory = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(getEnv);
        var command = new Command("reload", "Make a running gateway re-read config.yaml now (POST /config/reload; LITELLM_PROXY_URL, LITELLM_PROXY_API_KEY)");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var baseUrl = (getEnv("LITELLM_PROXY_URL") is { Length: > 0 } url ? url : "http://localhost:4000").TrimEnd('/');
            if (getEnv("LITELLM_PROXY_API_KEY") is not { Length: > 0 } key)
            {
                await stderr.WriteLineAsync("error: set LITELLM_PROXY_API_KEY to the gateway's master key (and LITELLM_PROXY_URL, default http://localhost:4000)");
                return 2;
            }

            using var http = httpFactory?.Invoke() ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/config/reload");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                JsonNode? json = null;
                try
                {
                    json = JsonNode.Parse(body);
                }
                catch (System.Text.Json.JsonException)
                {
                }

                if (!response.IsSuccessStatusCode)
                {
                    var message = json?["error"]?["message"]?.GetValue<string>() ?? body;
                    await stderr.WriteLineAsync($"{baseUrl} answered {(int)response.StatusCode}: {message}");
                    return 1;
                }

                var groups = json?["model_groups"]?.AsArray().Select(g => g?.GetValue<string>()) ?? [];
                await stdout.WriteLineAsync($"{json?["status"]?.GetValue<string>() ?? "reloaded"}: {json?["path"]?.GetValue<string>()}");
                await stdout.WriteLineAsync("model groups: " + string.Join(", ", groups));
                foreach (var (label, key2) in new[] { ("added", "added"), ("removed (draining)", "removed"), ("needs a restart", "needs_restart") })
                {
                    if (json?[key2] is JsonArray { Count: > 0 } items)
                    {
                        await stdout.WriteLineAsync($"{label}: " + string.Join(", ", items.Select(i => i?.GetValue<string>())));
                    }
                }

                return 0;
            }
            catch (HttpRequestException ex)
            {
                await stderr.WriteLineAsync($"cannot reach {baseUrl} ({ex.Message}); set LITELLM_PROXY_URL");
                return 1;
            }
        });
        return command;
    }
}
