using System.Text.RegularExpressions;
using Broker.Config.Model;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// general_settings.pass_through_endpoints → <see cref="PassThroughEndpoint"/>s, every problem reported at once: a
/// missing or malformed path, a target that is not an absolute http(s) URL, a path configured twice for the same
/// methods, a path that takes one of Broker's own routes (<see cref="BrokerRoutes"/>), a bad header name or method.
/// Header values may hold <c>os.environ/NAME</c> whole or inside (<c>bearer os.environ/COHERE_API_KEY</c>).
/// </summary>
internal static partial class PassThroughEndpointsReader
{
    private const string Key = "pass_through_endpoints";

    /// <summary>Headers the forwarder sets itself (hop-by-hop, framing, the target's host).</summary>
    private static readonly HashSet<string> ConnectionHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer", "Proxy-Connection",
    };

    public static List<PassThroughEndpoint> Read(MapReader g)
    {
        var result = new List<PassThroughEndpoint>();
        var list = g.Sequence(Key);
        if (list is null)
        {
            return result;
        }

        var convert = g.Convert;
        var context = convert.Context;
        var seen = new List<(PassThroughEndpoint Endpoint, int Index)>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = $"{g.ChildPath(Key)}[{i}]";
            var map = convert.Map(list.Children[i], path);
            if (map is null)
            {
                continue;
            }

            var r = new MapReader(convert, map, path);
            var routeNode = r.Take("path");
            var route = GeneralSettingsReader.Required(r, "path");
            var targetNode = r.Take("target");
            var target = GeneralSettingsReader.Required(r, "target");
            var headers = Headers(r);
            var forwardHeaders = r.Bool("forward_headers") ?? false;
            var includeSubpath = r.Bool("include_subpath") ?? false;
            var auth = r.Bool("auth") ?? true;
            var cost = r.Decimal("cost_per_request");
            var methods = Methods(r);
            var extra = r.Finish();

            var normalized = route is null ? null : NormalizePath(context, routeNode, r.ChildPath("path"), route, includeSubpath);
            var targetUri = target is null ? null : TargetUri(context, targetNode, r.ChildPath("target"), target);
            if (normalized is null || targetUri is null)
            {
                continue;
            }

            var endpoint = new PassThroughEndpoint
            {
                Path = normalized,
                Target = targetUri,
                Headers = headers,
                ForwardHeaders = forwardHeaders,
                IncludeSubpath = includeSubpath,
                Auth = auth,
                CostPerRequest = cost,
                Methods = methods,
                Extra = extra,
            };
            var twin = seen.FirstOrDefault(s =>
                string.Equals(s.Endpoint.Path, normalized, StringComparison.OrdinalIgnoreCase) && Overlap(s.Endpoint, endpoint));
            if (twin.Endpoint is not null)
            {
                context.Error(routeNode, r.ChildPath("path"),
                    $"path {normalized} is already forwarded by {g.ChildPath(Key)}[{twin.Index}] for the same methods; give each entry its own path or disjoint methods");
                continue;
            }

            seen.Add((endpoint, i));
            result.Add(endpoint);
        }

        return result;
    }

    private static bool Overlap(PassThroughEndpoint a, PassThroughEndpoint b) =>
        a.Methods.Count == 0 || b.Methods.Count == 0 || a.Methods.Intersect(b.Methods, StringComparer.Ordinal).Any();

    private static string? NormalizePath(LoadContext context, YamlNode? node, string keyPath, string route, bool includeSubpath)
    {
        var text = route.Trim();
        if (!text.StartsWith('/') || text.Length > 1 && !RoutePattern().IsMatch(text))
        {
            context.Error(node, keyPath,
                $"'{route}' is not a route path: it must start with '/' and hold only letters, digits and - . _ ~ / (no {{ }} * ? # or spaces)");
            return null;
        }

        var normalized = text.Length > 1 ? text.TrimEnd('/') : text;
        if (normalized is "" or "/")
        {
            context.Error(node, keyPath, "the root path '/' cannot be passed through: it would take every route of Broker's");
            return null;
        }

        if (BrokerRoutes.CollisionOf(normalized, includeSubpath) is { } taken)
        {
            var how = string.Equals(normalized, taken, StringComparison.OrdinalIgnoreCase) || normalized.StartsWith(taken + "/", StringComparison.OrdinalIgnoreCase)
                ? $"it is Broker's own route {taken}"
                : $"with include_subpath it would take Broker's own route {taken}";
            context.Error(node, keyPath, $"path {normalized} cannot be passed through: {how}");
            return null;
        }

        return normalized;
    }

    private static Uri? TargetUri(LoadContext context, YamlNode? node, string keyPath, string target)
    {
        if (!Uri.TryCreate(target.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) ||
            uri.Host.Length == 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            context.Error(node, keyPath, $"'{target}' is not an absolute http(s) URL (e.g. https://api.cohere.com/v1/rerank)");
            return null;
        }

        return uri;
    }

    private static Dictionary<string, Secret> Headers(MapReader r)
    {
        var headers = new Dictionary<string, Secret>(StringComparer.OrdinalIgnoreCase);
        var map = r.Map("headers");
        if (map is null)
        {
            return headers;
        }

        var convert = r.Convert;
        var context = convert.Context;
        var headersPath = r.ChildPath("headers");
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var name = convert.Key(keyNode, headersPath);
            if (name is null)
            {
                continue;
            }

            var path = NodeConverter.Child(headersPath, name);
            if (!HeaderName().IsMatch(name))
            {
                context.Error(keyNode, path, $"'{name}' is not a valid HTTP header name");
                continue;
            }

            if (ConnectionHeaders.Contains(name))
            {
                context.Error(keyNode, path, $"'{name}' describes the connection, not the request; it cannot be configured");
                continue;
            }

            if (valueNode is not YamlScalarNode scalar)
            {
                context.Error(valueNode, path, "expected a string header value");
                continue;
            }

            if (HeaderValue(context, scalar, path) is { } value)
            {
                headers[name] = new Secret(value);
            }
        }

        return headers;
    }

    /// <summary>The value with <c>os.environ/NAME</c> resolved, whole (<c>os.environ/KEY</c>) or inside (<c>bearer os.environ/KEY</c>).</summary>
    private static string? HeaderValue(LoadContext context, YamlScalarNode scalar, string path)
    {
        if (LoadContext.IsEnvReference(scalar))
        {
            return context.Resolve(scalar, path);
        }

        var text = scalar.Value ?? "";
        var missing = false;
        var value = EnvReference().Replace(text, m =>
        {
            var name = m.Groups[1].Value;
            if (context.GetEnv(name) is { } found)
            {
                return found;
            }

            context.Error(scalar, path, $"environment variable {name} is not set ({m.Value})");
            missing = true;
            return "";
        });
        if (value.Contains('\r', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal))
        {
            context.Error(scalar, path, "a header value cannot hold a line break");
            return null;
        }

        return missing ? null : value;
    }

    private static List<string> Methods(MapReader r)
    {
        var items = r.StringItems("methods");
        var methods = new List<string>();
        foreach (var (value, node, path) in items ?? [])
        {
            var method = value.Trim().ToUpperInvariant();
            if (!HeaderName().IsMatch(method))
            {
                r.Convert.Context.Error(node, path, $"'{value}' is not an HTTP method");
                continue;
            }

            if (!methods.Contains(method, StringComparer.Ordinal))
            {
                methods.Add(method);
            }
        }

        return methods;
    }

    [GeneratedRegex(@"^(/[A-Za-z0-9\-._~]+)+/?$")]
    private static partial Regex RoutePattern();

    // RFC 9110 token: header names and methods
    [GeneratedRegex(@"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")]
    private static partial Regex HeaderName();

    [GeneratedRegex(@"os\.environ/([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex EnvReference();
}
