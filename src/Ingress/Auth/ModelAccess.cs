using Broker.Config.Model;

namespace Broker.Ingress.Auth;

/// <summary>
/// LiteLLM's <c>models</c> of a key, user or team: empty = every model; model names, <c>*</c> or <c>all-proxy-models</c>,
/// wildcard patterns (<c>openai/*</c>) and access groups (<c>model_info.access_groups</c> of the config's deployments).
/// </summary>
public static class ModelAccess
{
    public static bool IsAllowed(ProxyConfig config, IReadOnlyList<string> allowed, string model)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(allowed);
        if (allowed.Count == 0)
        {
            return true;
        }

        foreach (var entry in allowed)
        {
            if (entry is "*" or "all-proxy-models" || string.Equals(entry, model, StringComparison.Ordinal))
            {
                return true;
            }

            if (entry.EndsWith('*') && model.StartsWith(entry[..^1], StringComparison.Ordinal))
            {
                return true;
            }

            foreach (var deployment in config.ModelList)
            {
                if (deployment.ModelInfo.AccessGroups.Contains(entry, StringComparer.Ordinal) &&
                    string.Equals(deployment.ModelName, model, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
