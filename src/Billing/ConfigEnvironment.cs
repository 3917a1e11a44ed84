using Broker.Config.Model;

namespace Broker.Billing;

/// <summary>
/// Environment lookups for outside services (SLACK_WEBHOOK_URL, SMTP_*, LANGFUSE_*, ...): config.yaml's
/// <c>environment_variables</c> first (as the <c>broker</c> command puts them into the environment at start-up), then the
/// process environment.
/// </summary>
public sealed class ConfigEnvironment(ProxyConfig config, Func<string, string?>? process = null)
{
    private readonly Func<string, string?> _process = process ?? Environment.GetEnvironmentVariable;

    public string? Get(string name) =>
        config.EnvironmentVariables.TryGetValue(name, out var value) && value.Length > 0 ? value
        : _process(name) is { Length: > 0 } fromProcess ? fromProcess : null;
}
