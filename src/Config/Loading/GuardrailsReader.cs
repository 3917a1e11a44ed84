using System.Globalization;
using Broker.Config.Model;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// A <c>guardrails</c> list, in either form: LiteLLM's <c>{guardrail_name, litellm_params: {guardrail, mode, api_base,
/// api_key, ...}, default_on}</c> items, or the seed's one-key maps <c>{name: {callbacks: [kind], default_on}}</c>.
/// Every problem is reported; an unknown kind or mode is an error (a guardrail that silently did nothing would fail open).
/// </summary>
internal static class GuardrailsReader
{
    private const string LakeraDefaultBase = "https://api.lakera.ai";

    public static List<GuardrailDefinition> Read(NodeConverter convert, YamlSequenceNode? list, string path)
    {
        var result = new List<GuardrailDefinition>();
        if (list is null)
        {
            return result;
        }

        for (var i = 0; i < list.Children.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            var map = convert.Map(list.Children[i], itemPath);
            if (map is null)
            {
                continue;
            }

            var reader = new MapReader(convert, map, itemPath);
            if (reader.Has("guardrail_name") || reader.Has("litellm_params"))
            {
                if (ReadItem(reader) is { } item)
                {
                    if (result.Exists(d => d.Name == item.Name))
                    {
                        convert.Context.Error(map, itemPath, $"guardrail '{item.Name}' is defined twice");
                    }

                    result.Add(item);
                }

                continue;
            }

            result.AddRange(ReadSeedItem(convert, map, itemPath));
        }

        return result;
    }

    /// <summary>The top-level <c>guardrails:</c> list appended to litellm_settings.guardrails; a name in both is an error.</summary>
    public static List<GuardrailDefinition> ReadTopLevel(NodeConverter convert, YamlNode? node, IReadOnlyList<GuardrailDefinition> fromSettings)
    {
        var list = node is null ? null : convert.Sequence(node, "guardrails");
        var top = Read(convert, list, "guardrails");
        foreach (var name in top.Select(d => d.Name).Distinct(StringComparer.Ordinal))
        {
            if (fromSettings.Any(d => d.Name == name))
            {
                convert.Context.Error(node, "guardrails", $"guardrail '{name}' is defined both here and in litellm_settings.guardrails");
            }
        }

        return [.. fromSettings, .. top];
    }

    private static GuardrailDefinition? ReadItem(MapReader item)
    {
        var convert = item.Convert;
        var context = convert.Context;
        var name = item.String("guardrail_name");
        if (string.IsNullOrWhiteSpace(name))
        {
            context.Error(item.Node, item.ChildPath("guardrail_name"), "required");
        }

        var defaultOn = item.Bool("default_on");
        var paramsNode = item.Map("litellm_params");
        item.Take("guardrail_info");
        item.Finish();
        if (paramsNode is null)
        {
            context.Error(item.Node, item.ChildPath("litellm_params"), "required (with at least guardrail: and mode:)");
            return null;
        }

        // a guardrail that lacks a secret or an address fails closed at run time, as LiteLLM starts without one
        using var unsetWarns = context.UnsetVariablesWarn($"guardrail '{name}' cannot check without it: requests it guards fail closed (503)");
        var p = new MapReader(convert, paramsNode, item.ChildPath("litellm_params"));
        var kindNode = p.Take("guardrail");
        var kindText = kindNode is null ? null : convert.String(kindNode, p.ChildPath("guardrail"));
        if (kindNode is null)
        {
            context.Error(paramsNode, p.ChildPath("guardrail"), $"required (one of: {Known()})");
        }

        var kind = Kind(context, kindNode, p.ChildPath("guardrail"), kindText);
        var modes = ReadModes(p);
        defaultOn = p.Bool("default_on") ?? defaultOn;
        var definition = new GuardrailDefinition
        {
            Name = name ?? "",
            Guardrail = kind ?? "",
            Modes = modes,
            DefaultOn = defaultOn ?? false,
            ApiBase = p.String("api_base"),
            ApiKey = p.Secret("api_key"),
            AnalyzerApiBase = p.String("presidio_analyzer_api_base"),
            AnonymizerApiBase = p.String("presidio_anonymizer_api_base"),
            OutputParsePii = p.Bool("output_parse_pii") ?? false,
            Language = p.String("presidio_language") ?? "en",
            Threshold = p.Double("threshold", 0) ?? 0.5,
            Params = p.Finish(warn: false),
        };
        if (name is null || kind is null)
        {
            return null;
        }

        return Complete(context, paramsNode, p.Path, definition);
    }

    private static List<GuardrailDefinition> ReadSeedItem(NodeConverter convert, YamlMappingNode map, string path)
    {
        var result = new List<GuardrailDefinition>();
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var name = convert.Key(keyNode, path);
            if (name is null)
            {
                continue;
            }

            var guardPath = NodeConverter.Child(path, name);
            var r = new MapReader(convert, convert.Map(valueNode, guardPath), guardPath);
            var callbacks = r.StringItems("callbacks") ?? [];
            var defaultOn = r.Bool("default_on") ?? false;
            var modes = r.Has("mode") ? ReadModes(r) : GuardrailModes.PreCall;
            r.Finish();
            if (callbacks.Count == 0)
            {
                convert.Context.Error(valueNode, NodeConverter.Child(guardPath, "callbacks"), $"required: the guardrail kinds to run (one of: {Known()})");
            }

            foreach (var (value, node, itemPath) in callbacks)
            {
                if (Kind(convert.Context, node, itemPath, value) is { } kind)
                {
                    var definition = new GuardrailDefinition { Name = name, Guardrail = kind, Modes = modes, DefaultOn = defaultOn };
                    result.Add(Complete(convert.Context, node, itemPath, definition));
                }
            }
        }

        return result;
    }

    /// <summary>Fills the environment defaults LiteLLM uses for external kinds and checks what each kind needs.</summary>
    private static GuardrailDefinition Complete(LoadContext context, YamlNode node, string path, GuardrailDefinition d)
    {
        if (GuardrailTypes.Rewrites(d.Guardrail) && d.Modes.HasFlag(GuardrailModes.DuringCall))
        {
            context.Error(node, path, $"guardrail '{d.Name}' ({d.Guardrail}) masks text, which cannot happen beside the call: use mode pre_call and/or post_call");
        }

        switch (d.Guardrail)
        {
            case GuardrailTypes.Lakera:
                d = d with
                {
                    ApiBase = d.ApiBase ?? context.GetEnv("LAKERA_API_BASE") ?? LakeraDefaultBase,
                    ApiKey = d.ApiKey ?? (context.GetEnv("LAKERA_API_KEY") is { Length: > 0 } key ? new Secret(key) : null),
                };
                if (d.ApiKey is null)
                {
                    context.Warning(node, path,
                        $"guardrail '{d.Name}' (lakera_prompt_injection) has no api_key and LAKERA_API_KEY is not set: Lakera will refuse the check and requests it guards fail closed (503)");
                }

                break;
            case GuardrailTypes.Presidio:
                d = d with
                {
                    AnalyzerApiBase = d.AnalyzerApiBase ?? context.GetEnv("PRESIDIO_ANALYZER_API_BASE"),
                    AnonymizerApiBase = d.AnonymizerApiBase ?? context.GetEnv("PRESIDIO_ANONYMIZER_API_BASE"),
                };
                if (d.AnalyzerApiBase is null || d.AnonymizerApiBase is null)
                {
                    context.Warning(node, path,
                        $"guardrail '{d.Name}' (presidio) needs presidio_analyzer_api_base and presidio_anonymizer_api_base (or PRESIDIO_ANALYZER_API_BASE / PRESIDIO_ANONYMIZER_API_BASE): requests it guards fail closed (503) until they are set");
                }

                break;
            case GuardrailTypes.GenericApi:
                if (d.ApiBase is null)
                {
                    context.Warning(node, path,
                        $"guardrail '{d.Name}' (generic_guardrail_api) needs litellm_params.api_base: requests it guards fail closed (503) until it is set");
                }

                break;
        }

        foreach (var url in new[] { d.ApiBase, d.AnalyzerApiBase, d.AnonymizerApiBase })
        {
            if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                context.Error(node, path, $"guardrail '{d.Name}': '{url}' is not an http(s) URL");
            }
        }

        return d;
    }

    private static string? Kind(LoadContext context, YamlNode? node, string path, string? text)
    {
        if (text is null)
        {
            return null;
        }

        var kind = GuardrailTypes.Normalize(text);
        if (kind is null && text.Trim().Length > 0)
        {
            // LiteLLM starts with guardrails Broker has no implementation of (aporia, bedrock, a Python class): so does
            // Broker, and every request the guardrail guards fails closed instead of going out unchecked
            context.Warning(node, path,
                $"guardrail '{text}' is not run by Broker: requests it guards (that name it, or all with default_on) are refused with 503 (Broker runs: {Known()})");
            return text.Trim();
        }

        return kind;
    }

    private static GuardrailModes ReadModes(MapReader r)
    {
        var items = r.StringItems("mode");
        if (items is null || items.Count == 0)
        {
            return GuardrailModes.PreCall;
        }

        var modes = GuardrailModes.None;
        foreach (var (value, node, path) in items)
        {
            var mode = value.Trim().ToLower(CultureInfo.InvariantCulture) switch
            {
                "pre_call" => GuardrailModes.PreCall,
                "during_call" => GuardrailModes.DuringCall,
                "post_call" => GuardrailModes.PostCall,
                _ => GuardrailModes.None,
            };
            if (mode == GuardrailModes.None)
            {
                r.Convert.Context.Error(node, path, $"unknown mode '{value}' (known: pre_call, during_call, post_call)");
            }

            modes |= mode;
        }

        return modes == GuardrailModes.None ? GuardrailModes.PreCall : modes;
    }

    private static string Known() => string.Join(", ", GuardrailTypes.Aliases.Values.Distinct().Order(StringComparer.Ordinal));
}
