using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broker.Config.Model;

namespace Broker.Config.Loading;

/// <summary>
/// Keeps Broker's own secrets out of runtime models: a model added over HTTP chooses its api_base, so an
/// <c>os.environ/</c> reference in it could send any variable of the process to a server of the caller's choosing.
/// References to Broker's own settings (master key, salt key, database, Redis, RabbitMQ, SMTP, ...) are refused, and
/// so is any reference whose value equals the master key, the database URL or the salt key, whatever its name.
/// </summary>
internal static partial class RuntimeModelSecrets
{
    /// <summary>Variables Broker itself reads: never a model's to use.</summary>
    private static readonly HashSet<string> OwnSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        "LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "DATABASE_URL", "DIRECT_URL",
        "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD",
        "RABBITMQ_URL", "RABBITMQ_CLUSTER_NODES", "RABBITMQ_MANAGEMENT_URL",
        "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SENDER_EMAIL",
        "SLACK_WEBHOOK_URL", "UI_USERNAME", "UI_PASSWORD", "LITELLM_PROXY_API_KEY",
        // the key managers' and SSO providers' own credentials
        "HCP_VAULT_TOKEN", "HCP_VAULT_APPROLE_SECRET_ID", "HCP_VAULT_CLIENT_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLIENT_SECRET", "MICROSOFT_CLIENT_SECRET", "GITHUB_CLIENT_SECRET",
        "GENERIC_CLIENT_SECRET",
    };

    [GeneratedRegex(@"os\.environ/\s*([A-Za-z0-9_.\-]+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex EnvReference();

    /// <summary>One error per <c>os.environ/</c> reference of <paramref name="section"/> that would expose a secret of Broker's.</summary>
    public static IEnumerable<string> Check(string section, JsonNode? node, ProxyConfig fileConfig, Func<string, string?> lookup)
    {
        var secrets = new List<string>();
        void AddSecret(string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                secrets.Add(value);
            }
        }

        AddSecret(fileConfig.GeneralSettings.MasterKey?.Value);
        AddSecret(fileConfig.GeneralSettings.DatabaseUrl?.Value);
        AddSecret(lookup("LITELLM_MASTER_KEY"));
        AddSecret(lookup("LITELLM_SALT_KEY"));
        AddSecret(lookup("DATABASE_URL"));
        return Walk(section, node).SelectMany(p => Errors(p.Path, p.Text, secrets, lookup));
    }

    private static IEnumerable<string> Errors(string path, string text, List<string> secrets, Func<string, string?> lookup)
    {
        foreach (var match in EnvReference().Matches(text).Cast<Match>())
        {
            var name = match.Groups[1].Value;
            if (OwnSettings.Contains(name))
            {
                yield return $"{path}: os.environ/{name} is one of Broker's own settings; a model added at run time may not read it";
            }
            else if (lookup(name) is { Length: > 0 } value && secrets.Contains(value, StringComparer.Ordinal))
            {
                yield return $"{path}: os.environ/{name} holds one of Broker's own secrets (master key, salt key or database URL); a model added at run time may not read it";
            }
        }
    }

    private static IEnumerable<(string Path, string Text)> Walk(string path, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject map:
                foreach (var (key, value) in map)
                {
                    foreach (var item in Walk(path + "." + key, value))
                    {
                        yield return item;
                    }
                }

                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    foreach (var item in Walk($"{path}[{i}]", list[i]))
                    {
                        yield return item;
                    }
                }

                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                yield return (path, value.GetValue<string>());
                break;
        }
    }
}
