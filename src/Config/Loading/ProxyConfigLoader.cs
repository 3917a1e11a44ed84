using Broker.Config.Model;
using Broker.Config.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>Loads config.yaml into an immutable <see cref="Model.ProxyConfig"/>, reporting every problem at once.</summary>
public static class ProxyConfigLoader
{
    /// <summary>Reads and loads a file. A missing or unreadable file is an error diagnostic, not an exception.</summary>
    public static ConfigLoadResult LoadFile(string path, Func<string, string?> getEnvironmentVariable)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var message = ex is FileNotFoundException or DirectoryNotFoundException
                ? "config file not found"
                : $"cannot read the config file: {ex.Message}";
            return new ConfigLoadResult(null, [new ConfigDiagnostic(ConfigSeverity.Error, path, 1, 1, "", message)]);
        }

        return LoadText(text, path, getEnvironmentVariable);
    }

    /// <summary>Loads YAML text; <paramref name="sourceName"/> is the file name used in diagnostics.</summary>
    public static ConfigLoadResult LoadText(string yaml, string sourceName, Func<string, string?> getEnvironmentVariable)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        var context = new LoadContext(sourceName, getEnvironmentVariable);

        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader(yaml);
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            context.AddAt(ConfigSeverity.Error, (int)Math.Max(1, ex.Start.Line), (int)Math.Max(1, ex.Start.Column), "",
                "invalid YAML: " + InnerMessage(ex));
            return new ConfigLoadResult(null, context.Diagnostics);
        }

        YamlNode? root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        Yaml.MergeKeys.Apply(root);
        if (stream.Documents.Count > 1)
        {
            context.Warning(stream.Documents[1].RootNode, "", "only the first YAML document is read; the others are ignored");
        }

        var config = Build(new NodeConverter(context), root, sourceName, out var refs);
        ReferenceValidator.Validate(config, refs, context);
        return new ConfigLoadResult(config, context.Diagnostics) { KnownKeys = context.KnownKeys };
    }

    private static ProxyConfig Build(NodeConverter convert, YamlNode? root, string sourceName, out List<NameRef> refs)
    {
        var context = convert.Context;
        YamlMappingNode? rootMap = null;
        if (root is YamlMappingNode map)
        {
            rootMap = map;
        }
        else if (root is not null && !(root is YamlScalarNode s && Yaml.YamlScalars.IsNull(s)))
        {
            context.Error(root, "", $"expected a map of sections (model_list, router_settings, ...), got {Yaml.YamlScalars.Describe(root)}");
        }

        var top = new MapReader(convert, rootMap, "");

        // environment_variables first: its entries are visible to every os.environ/ lookup below.
        var environment = top.StringMap("environment_variables") ?? new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in environment)
        {
            context.SetOverlay(name, value);
        }

        var modelListNode = top.Take("model_list");
        var deployments = ModelListReader.Read(convert, modelListNode);
        if (deployments.Count == 0 && !context.Diagnostics.Any(d => d.Severity == ConfigSeverity.Error))
        {
            context.Warning(modelListNode ?? rootMap, "model_list", "no models configured; every request will be rejected");
        }

        var (router, routerShared) = RouterSettingsReader.Read(convert, top.Take(RouterSettingsReader.Section));
        var callbackSettings = ReadCallbackSettings(convert, top.Take("callback_settings"));
        var genericCallbacks = callbackSettings
            .Where(c => string.Equals(c.Value.GetValueOrDefault("callback_type") as string, "generic_api", StringComparison.OrdinalIgnoreCase))
            .Select(c => CallbackNames.Normalize(c.Key))
            .ToHashSet(StringComparer.Ordinal);
        var (litellm, litellmShared) = LitellmSettingsReader.Read(convert, top.Take(LitellmSettingsReader.Section), genericCallbacks);
        var general = GeneralSettingsReader.Read(convert, top.Take(GeneralSettingsReader.Section));
        var guardrails = GuardrailsReader.ReadTopLevel(convert, top.Take("guardrails"), litellm.Guardrails);
        var mcp = McpReader.Build(context, rootMap, litellm.McpServers, McpReader.ReadServers(top), litellm.McpAliases);
        top.Finish();

        refs = [];
        var merged = Merge(router, routerShared, litellmShared, refs);
        var groups = deployments
            .GroupBy(d => d.ModelName, StringComparer.Ordinal)
            .Select(g => new ModelGroup { Name = g.Key, Deployments = g.ToList() })
            .ToList();

        return new ProxyConfig
        {
            SourcePath = sourceName,
            ModelList = deployments,
            ModelGroups = groups,
            RouterSettings = merged,
            LitellmSettings = litellm,
            GeneralSettings = general,
            EnvironmentVariables = environment,
            CallbackSettings = callbackSettings,
            Guardrails = guardrails,
            Mcp = mcp,
        };
    }

    /// <summary>router_settings wins over litellm_settings key by key; the winners' group names are checked later.</summary>
    private static RouterSettings Merge(RouterSettings router, RoutingValues r, RoutingValues l, List<NameRef> refs)
    {
        var fallbacks = Pick(r.Fallbacks, l.Fallbacks, refs);
        var contextWindow = Pick(r.ContextWindowFallbacks, l.ContextWindowFallbacks, refs);
        var contentPolicy = Pick(r.ContentPolicyFallbacks, l.ContentPolicyFallbacks, refs);
        var defaults = Pick(r.DefaultFallbacks, l.DefaultFallbacks, refs);
        var aliases = Pick(r.ModelGroupAlias, l.ModelGroupAlias, refs);
        return router with
        {
            NumRetries = r.NumRetries ?? l.NumRetries ?? 3,
            Timeout = r.Timeout ?? l.Timeout,
            AllowedFails = r.AllowedFails ?? l.AllowedFails,
            CooldownTime = r.CooldownTime ?? l.CooldownTime,
            MaxFallbacks = r.MaxFallbacks ?? l.MaxFallbacks ?? 5,
            Fallbacks = fallbacks ?? [],
            ContextWindowFallbacks = contextWindow ?? [],
            ContentPolicyFallbacks = contentPolicy ?? [],
            DefaultFallbacks = defaults ?? [],
            ModelGroupAlias = aliases ?? new Dictionary<string, string>(),
            HiddenModelGroupAliases = r.ModelGroupAlias is not null ? r.HiddenAliases : l.HiddenAliases,
        };
    }

    private static T? Pick<T>(Referenced<T>? router, Referenced<T>? litellm, List<NameRef> refs)
        where T : class
    {
        var winner = router ?? litellm;
        if (winner is null)
        {
            return null;
        }

        refs.AddRange(winner.Refs);
        return winner.Value;
    }

    private static Dictionary<string, IReadOnlyDictionary<string, object?>> ReadCallbackSettings(NodeConverter convert, YamlNode? node)
    {
        var result = new Dictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal);
        var map = node is null ? null : convert.Map(node, "callback_settings");
        if (map is null)
        {
            return result;
        }

        foreach (var (keyNode, valueNode) in map.Children)
        {
            var name = convert.Key(keyNode, "callback_settings");
            if (name is null)
            {
                continue;
            }

            var path = NodeConverter.Child("callback_settings", name);
            if (convert.Map(valueNode, path) is { } options)
            {
                result[name] = (Dictionary<string, object?>)convert.ToObject(options, path)!;
            }
            else
            {
                result[name] = new Dictionary<string, object?>();
            }
        }

        return result;
    }

    /// <summary>YamlDotNet's message without its "(Line: .., Col: ..) - (...):" prefix (the position is reported separately).</summary>
    private static string InnerMessage(YamlException ex)
    {
        var message = ex.Message;
        var marker = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && marker >= 0 ? message[(marker + 3)..] : message;
    }
}
