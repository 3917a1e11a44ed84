using Broker.Config.Model;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// MCP servers: <c>litellm_settings.mcp_servers</c> (a map name → server, or as in the seed a list of servers with a
/// <c>name</c>) with <c>litellm_settings.mcp_aliases</c>, and LiteLLM's top-level <c>mcp_servers</c> map. Every entry is
/// checked (transport, command or url) and every problem reported at once.
/// </summary>
internal static class McpReader
{
    public const string Key = "mcp_servers";

    private static readonly string[] Transports = ["stdio", "http", "sse"];

    /// <summary>Reads <c>mcp_servers</c> of <paramref name="section"/> (litellm_settings or the top level).</summary>
    public static Dictionary<string, McpServer> ReadServers(MapReader section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var result = new Dictionary<string, McpServer>(StringComparer.Ordinal);
        var node = section.Take(Key);
        if (node is null)
        {
            return result;
        }

        var convert = section.Convert;
        var path = section.ChildPath(Key);
        if (node is YamlSequenceNode list)
        {
            for (var i = 0; i < list.Children.Count; i++)
            {
                var itemPath = $"{path}[{i}]";
                var map = convert.Map(list.Children[i], itemPath);
                if (map is null)
                {
                    continue;
                }

                var r = new MapReader(convert, map, itemPath);
                var nameNode = r.Take("name");
                var name = nameNode is null ? null : convert.String(nameNode, r.ChildPath("name"));
                if (nameNode is null)
                {
                    convert.Context.Error(map, r.ChildPath("name"), "required");
                }

                var server = ReadServer(r);
                if (name is not null && !result.TryAdd(name, server))
                {
                    convert.Context.Error(nameNode, r.ChildPath("name"), $"a second MCP server named '{name}'");
                }
            }
        }
        else if (convert.Map(node, path) is { } map)
        {
            foreach (var (keyNode, valueNode) in map.Children)
            {
                var name = convert.Key(keyNode, path);
                if (name is null)
                {
                    continue;
                }

                var serverPath = NodeConverter.Child(path, name);
                result[name] = ReadServer(new MapReader(convert, convert.Map(valueNode, serverPath), serverPath));
            }
        }

        return result;
    }

    /// <summary>
    /// The gateway's view: both sources merged (a name defined in both is an error), each server with its aliases and
    /// the prefix its tools carry. An alias naming no configured server is a warning (the seed has one).
    /// </summary>
    public static McpSettings Build(
        LoadContext context, YamlMappingNode? root, IReadOnlyDictionary<string, McpServer> litellmServers,
        IReadOnlyDictionary<string, McpServer> topLevelServers, IReadOnlyDictionary<string, string> aliases)
    {
        ArgumentNullException.ThrowIfNull(context);
        var all = new List<(string Name, McpServer Server)>();
        foreach (var (name, server) in litellmServers)
        {
            all.Add((name, server));
        }

        foreach (var (name, server) in topLevelServers)
        {
            if (litellmServers.ContainsKey(name))
            {
                context.Error(Find(root, Key, name), NodeConverter.Child(Key, name),
                    $"MCP server '{name}' is also defined in litellm_settings.mcp_servers; give one of them another name");
                continue;
            }

            all.Add((name, server));
        }

        var known = all.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var usable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (alias, target) in aliases)
        {
            var path = NodeConverter.Child(NodeConverter.Child(LitellmSettingsReader.Section, "mcp_aliases"), alias);
            var node = Find(root, LitellmSettingsReader.Section, "mcp_aliases", alias);
            if (!known.Contains(target))
            {
                context.Warning(node, path, $"no MCP server named '{target}' is configured; the alias is ignored");
            }
            else if (known.Contains(alias) && !string.Equals(alias, target, StringComparison.Ordinal))
            {
                context.Error(node, path, $"'{alias}' is already the name of another MCP server");
            }
            else
            {
                usable[alias] = target;
            }
        }

        var servers = all.Select(s =>
        {
            var own = usable.Where(a => string.Equals(a.Value, s.Name, StringComparison.Ordinal)).Select(a => a.Key).ToList();
            return new McpServerSettings
            {
                Name = s.Name,
                Prefix = own.Count > 0 ? own[0] : s.Name,
                Transport = TransportOf(s.Server),
                Command = s.Server.Command,
                Args = s.Server.Args,
                Url = s.Server.Url,
                Env = s.Server.Env,
                Description = s.Server.Description,
                Names = [s.Name, .. own.Where(a => !string.Equals(a, s.Name, StringComparison.Ordinal))],
            };
        }).ToList();
        return new McpSettings { Servers = servers, Aliases = usable };
    }

    private static McpTransport TransportOf(McpServer server) => server.Transport?.ToLowerInvariant() switch
    {
        "stdio" => McpTransport.Stdio,
        "http" => McpTransport.Http,
        "sse" => McpTransport.Sse,
        _ => server.Url is null ? McpTransport.Stdio : McpTransport.HttpOrSse,
    };

    private static McpServer ReadServer(MapReader r)
    {
        var convert = r.Convert;
        var context = convert.Context;
        var transportNode = r.Take("transport");
        var transport = transportNode is null ? null : convert.String(transportNode, r.ChildPath("transport"));
        if (transport is not null && !Transports.Contains(transport, StringComparer.OrdinalIgnoreCase))
        {
            context.Error(transportNode, r.ChildPath("transport"), $"expected one of {string.Join(", ", Transports)}, got '{transport}'");
            transport = null;
        }

        var commandNode = r.Node is null ? null : Child(r.Node, "command");
        var urlNode = r.Node is null ? null : Child(r.Node, "url");
        var server = new McpServer
        {
            Command = r.String("command"),
            Args = r.StringList("args") ?? [],
            Url = r.String("url"),
            Transport = transport,
            Env = r.StringMap("env") ?? new Dictionary<string, string>(),
            Description = r.String("description"),
        };
        r.Finish();

        var stdio = string.Equals(transport, "stdio", StringComparison.OrdinalIgnoreCase) || (transport is null && server.Url is null);
        if (stdio)
        {
            if (string.IsNullOrWhiteSpace(server.Command) && commandNode is null)
            {
                context.Error(r.Node, r.ChildPath("command"), transport is null
                    ? "required: a command to start (stdio), or a url (http, sse)"
                    : "required for transport stdio");
            }

            if (server.Url is not null)
            {
                context.Error(urlNode, r.ChildPath("url"), "a stdio server is started from its command; remove url or set transport: http or sse");
            }
        }
        else
        {
            if (server.Url is null && urlNode is null)
            {
                context.Error(r.Node, r.ChildPath("url"), $"required for transport {transport}");
            }
            else if (server.Url is not null &&
                     (!Uri.TryCreate(server.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
            {
                context.Error(urlNode, r.ChildPath("url"), $"expected an http:// or https:// URL, got '{server.Url}'");
            }

            if (server.Command is not null)
            {
                context.Error(commandNode, r.ChildPath("command"), "an http/sse server is called at its url; remove command or set transport: stdio");
            }
        }

        return server;
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.FirstOrDefault(e => e.Key is YamlScalarNode s && s.Value == key).Value;

    /// <summary>The node at <paramref name="keys"/> under <paramref name="root"/> (for a diagnostic's position), or null.</summary>
    private static YamlNode? Find(YamlMappingNode? root, params string[] keys)
    {
        YamlNode? node = root;
        foreach (var key in keys)
        {
            if (node is not YamlMappingNode map)
            {
                return null;
            }

            var found = map.Children.FirstOrDefault(e => e.Key is YamlScalarNode s && s.Value == key);
            node = found.Key is null ? null : key == keys[^1] ? found.Key : found.Value;
        }

        return node;
    }
}
