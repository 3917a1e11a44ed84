using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Ingress.Auth;

namespace Broker.Ingress.Mcp;

/// <summary>
/// Which MCP servers a caller may use: the proxy admin (master key, admin JWT, open gateway) all of them; a virtual key
/// those in its <c>metadata.mcp_servers</c> and its team's (names or aliases); a list that is absent does not restrict.
/// Fail closed: no auth context, or a list that cannot be read, allows nothing.
/// </summary>
public sealed class McpAccess
{
    private readonly IReadOnlyList<string>? _key;
    private readonly IReadOnlyList<string>? _team;
    private readonly bool _all;
    private readonly bool _none;

    private McpAccess(bool all, bool none, IReadOnlyList<string>? key, IReadOnlyList<string>? team, string caller, Contracts.Identity.Caller? identity = null)
    {
        Identity = identity;
        _all = all;
        _none = none;
        _key = key;
        _team = team;
        Caller = caller;
    }

    /// <summary>The caller as it may be logged: <c>sk-...abcd</c>, <c>admin</c>, or <c>none</c>.</summary>
    public string Caller { get; }

    /// <summary>Who called, as spend is attributed (null for the admin without an end user).</summary>
    public Contracts.Identity.Caller? Identity { get; }

    public static McpAccess Of(AuthContext? auth)
    {
        if (auth is null)
        {
            return new McpAccess(false, true, null, null, "none");
        }

        if (auth.IsAdmin)
        {
            return new McpAccess(true, false, null, null, "admin", auth.Caller);
        }

        var name = auth.Key?.KeyName ?? auth.Caller?.UserId ?? "jwt";
        var (key, keyOk) = ListOf(auth.Key?.Metadata);
        var (team, teamOk) = ListOf(auth.Team?.Metadata);
        return new McpAccess(false, !keyOk || !teamOk, key, team, name, auth.Caller);
    }

    public bool Allows(McpServerSettings server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (_all)
        {
            return true;
        }

        return !_none && Grants(_key, server) && Grants(_team, server);
    }

    private static bool Grants(IReadOnlyList<string>? list, McpServerSettings server) =>
        list is null || list.Any(n => server.Names.Contains(n, StringComparer.Ordinal));

    /// <summary><c>mcp_servers</c> of a metadata object: (null, true) when absent; (null, false) when it cannot be read.</summary>
    private static (IReadOnlyList<string>? List, bool Ok) ListOf(string? metadata)
    {
        if (string.IsNullOrWhiteSpace(metadata))
        {
            return (null, true);
        }

        try
        {
            if (JsonNode.Parse(metadata) is not JsonObject obj || !obj.TryGetPropertyValue(McpGrants.MetadataKey, out var node) || node is null)
            {
                return (null, true);
            }

            if (node is JsonArray array && array.All(i => i is JsonValue v && v.GetValueKind() == JsonValueKind.String))
            {
                return (array.Select(i => i!.GetValue<string>()).ToList(), true);
            }

            return (null, false);
        }
        catch (JsonException)
        {
            return (null, false);
        }
    }
}
