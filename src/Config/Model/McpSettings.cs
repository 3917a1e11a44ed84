namespace Broker.Config.Model;

/// <summary>
/// The MCP gateway's servers: <c>litellm_settings.mcp_servers</c> (the seed's form, with <c>mcp_aliases</c>) and LiteLLM's
/// top-level <c>mcp_servers</c> map, merged. Tools are exposed as <c>{prefix}-{tool}</c>.
/// </summary>
public sealed record McpSettings
{
    /// <summary>The separator between a server's prefix and its tool's name, as in LiteLLM.</summary>
    public const string Separator = "-";

    public static McpSettings Empty { get; } = new();

    public IReadOnlyList<McpServerSettings> Servers { get; init; } = [];

    /// <summary>mcp_aliases that name a configured server: alias → server name.</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; init; } = new Dictionary<string, string>();

    /// <summary>The server called <paramref name="nameOrAlias"/> (its name or one of its aliases), or null.</summary>
    public McpServerSettings? Find(string nameOrAlias)
    {
        ArgumentNullException.ThrowIfNull(nameOrAlias);
        var name = Aliases.TryGetValue(nameOrAlias, out var target) ? target : nameOrAlias;
        return Servers.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal));
    }

    /// <summary>
    /// Splits a prefixed tool name (<c>everything-echo</c>) into its server and the upstream tool name; the longest
    /// matching name or alias wins, so a name may itself contain the separator. Null when no server matches.
    /// </summary>
    public (McpServerSettings Server, string Tool)? Resolve(string prefixedTool)
    {
        ArgumentNullException.ThrowIfNull(prefixedTool);
        (McpServerSettings Server, string Tool)? best = null;
        var bestLength = -1;
        foreach (var server in Servers)
        {
            foreach (var name in server.Names)
            {
                var head = name + Separator;
                if (name.Length > bestLength && prefixedTool.Length > head.Length &&
                    prefixedTool.StartsWith(head, StringComparison.Ordinal))
                {
                    best = (server, prefixedTool[head.Length..]);
                    bestLength = name.Length;
                }
            }
        }

        return best;
    }
}
