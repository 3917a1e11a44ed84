using Broker.Config.Model;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// general_settings.custom_auth: a map <c>{url, headers, timeout}</c> is Broker's HTTP hook; LiteLLM's Python module
/// path (<c>custom_auth.user_api_key_auth</c>) cannot run in a C# gateway and loads with a warning saying what to use.
/// </summary>
internal static class CustomAuthReader
{
    public static (string? ModulePath, CustomAuthHook? Hook) Read(MapReader g)
    {
        var node = g.Take("custom_auth");
        var path = g.ChildPath("custom_auth");
        var convert = g.Convert;
        var context = convert.Context;
        if (node is null || node is YamlScalarNode { } empty && Yaml.YamlScalars.IsNull(empty))
        {
            return (null, null);
        }

        if (node is YamlScalarNode)
        {
            var module = convert.String(node, path);
            context.Warning(node, path,
                $"custom_auth '{module}' is a Python module, which a C# gateway cannot load; it is not called. " +
                "Use custom_auth: {url: https://your-hook/check, headers: {...}} (an HTTP hook that answers allow/deny and the caller's identity)");
            return (module, null);
        }

        var map = convert.Map(node, path);
        if (map is null)
        {
            return (null, null);
        }

        var r = new MapReader(convert, map, path);
        var url = GeneralSettingsReader.Required(r, "url");
        var headers = r.StringMap("headers") ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var timeout = r.Duration("timeout");
        r.Finish();
        if (url is null)
        {
            return (null, null);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            context.Error(map, r.ChildPath("url"), $"expected an http(s) URL, got '{url}'");
            return (null, null);
        }

        return (null, new CustomAuthHook
        {
            Url = uri,
            Headers = headers,
            Timeout = timeout is { } t && t > TimeSpan.Zero ? t : TimeSpan.FromSeconds(5),
        });
    }
}
