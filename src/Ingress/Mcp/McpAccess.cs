using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Ingress.Auth;

namespace Broker.Ingress.Mcp;

/// <summary>
/// Which MCP servers a caller may use: the proxy admin (master key, admin JWT, open gateway) all of them; a virtual key
/// those in its <c>metadata.mcp_servers</c> and in its team's and its user's (names or aliases): the intersection of the
/// lists that are set, as LiteLLM does (a key without a list inherits its team's; the user's list is a ceiling on both).
/// A list that is absent does not restrict; an empty list allows nothing.
/// Fail closed: no auth context, or a list that cannot be read, allows nothing.
/// </summary>
public sealed class McpAccess
{
    private readonly IReadOnlyList<string>? _key;
    private readonly IReadOnlyList<string>? _team;
    private readonly IReadOnlyList<string>? _user;
    private readonly bool _all;
    private readonly bool _none;

    private McpAccess(
        bool all, bool none, IReadOnlyList<string>? key, IReadOnlyList<string>? team, string caller, Contracts.Identity.Caller? identity = null,
        IReadOnlyList<string>? user = null)
    {
        _user = user;
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
        var (user, userOk) = ListOf(auth.User?.Metadata);
        return new McpAccess(false, !keyOk || !teamOk || !userOk, key, team, name, auth.Caller, user);
    }

    public bool Allows(McpServerSettings server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (_all)
        {
            return true;
        }

        return !_none && Grants(_key, server) && Grants(_team, server) && Grants(_user, server);
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
