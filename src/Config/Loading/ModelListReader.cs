using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Config.Yaml;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>model_list → deployments. Entries missing model_name or model are reported and left out.</summary>
internal static class ModelListReader
{
    /// <summary>The words of every warning about a deployment Broker keeps but cannot call (a runtime model is refused for it).</summary>
    internal const string CallsFail = "calls to this deployment fail";

    private const string Section = "model_list";

    public static List<ModelDeployment> Read(NodeConverter convert, YamlNode? node)
    {
        var result = new List<ModelDeployment>();
        var list = node is null ? null : convert.Sequence(node, Section);
        if (list is null)
        {
            return result;
        }

        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            var path = $"{Section}[{i}]";
            if (item is YamlScalarNode empty && YamlScalars.IsNull(empty))
            {
                convert.Context.Error(item, path, "empty entry; expected model_name and litellm_params");
                continue;
            }

            var map = convert.Map(item, path);
            if (map is not null && ReadEntry(convert, map, i, path, ids) is { } deployment)
            {
                result.Add(deployment);
            }
        }

        return result;
    }

    private static ModelDeployment? ReadEntry(
        NodeConverter convert, YamlMappingNode map, int index, string path, Dictionary<string, string> ids)
    {
        var context = convert.Context;
        var entry = new MapReader(convert, map, path);
        var (modelName, _) = RequiredString(entry, "model_name");

        var topRpmNode = entry.Take("rpm");
        var topRpm = topRpmNode is null ? null : convert.Int(topRpmNode, entry.ChildPath("rpm"));
        var topTpmNode = entry.Take("tpm");
        var topTpm = topTpmNode is null ? null : convert.Int(topTpmNode, entry.ChildPath("tpm"));

        var paramsNode = entry.Take("litellm_params");
        var paramsMap = paramsNode is null ? null : convert.Map(paramsNode, entry.ChildPath("litellm_params"));
        if (paramsMap is null && (paramsNode is null || paramsNode is YamlScalarNode))
        {
            context.Error(paramsNode ?? map, entry.ChildPath("litellm_params"), "required");
        }

        var infoNode = entry.Take("model_info");
        var info = ReadModelInfo(convert, infoNode is null ? null : convert.Map(infoNode, entry.ChildPath("model_info")),
            entry.ChildPath("model_info"), out var idNode);
        entry.Finish();

        if (paramsMap is null)
        {
            return null;
        }

        var p = new MapReader(convert, paramsMap, entry.ChildPath("litellm_params"));
        var (model, modelNode) = RequiredString(p, "model");
        var apiKey = p.Secret("api_key");
        var apiBase = NullIfEmpty(p.String("api_base"));
        var apiVersion = NullIfEmpty(p.String("api_version"));
        var rpm = p.Int("rpm");
        var tpm = p.Int("tpm");
        var weight = p.Double("weight", 0);
        var order = p.Int("order");
        var timeout = p.Duration("timeout");
        var streamTimeout = p.Duration("stream_timeout");
        var maxRetries = p.Int("max_retries");
        var maxParallel = p.Int("max_parallel_requests", 1);
        var mockResponse = p.String("mock_response");
        var tags = p.StringList("tags") ?? [];
        var defaults = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (key, _, value) in p.Remaining())
        {
            defaults[key] = convert.ToJson(value, p.ChildPath(key));
        }

        WarnIfDifferent(context, topRpmNode, entry.ChildPath("rpm"), topRpm, rpm, "rpm");
        WarnIfDifferent(context, topTpmNode, entry.ChildPath("tpm"), topTpm, tpm, "tpm");

        if (modelName is null || model is null || modelNode is null)
        {
            return null;
        }

        var modelPath = p.ChildPath("model");
        if (!TrySplitModel(context, model, modelNode, modelPath, apiBase, out var provider, out var providerModel, out var unknownPrefix))
        {
            return null;
        }

        // An unknown prefix never receives another provider's key.
        if (apiKey is null && !unknownPrefix)
        {
            foreach (var variable in ProviderCatalog.Find(provider)?.ApiKeyVariables ?? [])
            {
                if (!string.IsNullOrEmpty(context.GetEnv(variable)))
                {
                    apiKey = new Secret(context.GetEnv(variable)!);
                    break;
                }
            }
        }

        if (provider == BuiltInProviders.Azure.Name)
        {
            apiBase ??= NullIfEmpty(context.GetEnv("AZURE_API_BASE"));
            apiVersion ??= NullIfEmpty(context.GetEnv("AZURE_API_VERSION"));
            if (apiBase is null)
            {
                // LiteLLM starts with such an entry and fails only the calls to it
                context.Warning(paramsMap, p.ChildPath("api_base"),
                    $"not set for an azure deployment (nor AZURE_API_BASE): {CallsFail} until it is");
            }

            if (apiVersion is null)
            {
                context.Warning(paramsMap, p.ChildPath("api_version"),
                    "not set for an azure deployment (nor AZURE_API_VERSION); a default API version will be used");
            }
        }

        var id = info.Id;
        if (id is not null)
        {
            if (ids.TryGetValue(id, out var firstPath))
            {
                context.Error(idNode, NodeConverter.Child(entry.ChildPath("model_info"), "id"),
                    $"duplicate id '{id}' (already used by {firstPath})");
            }
            else
            {
                ids[id] = path;
            }
        }

        return new ModelDeployment
        {
            ModelName = modelName,
            Model = model,
            Provider = provider,
            ProviderModel = providerModel,
            Id = id ?? StableId(index, modelName, model, apiBase),
            Index = index,
            ApiKey = apiKey,
            ApiBase = apiBase,
            ApiVersion = apiVersion,
            Rpm = rpm ?? topRpm,
            Tpm = tpm ?? topTpm,
            Weight = weight,
            Order = order,
            Timeout = timeout,
            StreamTimeout = streamTimeout,
            MaxRetries = maxRetries,
            MaxParallelRequests = maxParallel,
            MockResponse = mockResponse,
            Tags = tags,
            DefaultParams = defaults,
            ModelInfo = info,
        };
    }

    /// <summary>First 12 hex characters of SHA-256 over <c>index|model_name|model|api_base</c>.</summary>
    public static string StableId(int index, string modelName, string model, string? apiBase)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{index}|{modelName}|{model}|{apiBase}"));
        return Convert.ToHexStringLower(hash)[..12];
    }

    private static bool TrySplitModel(
        LoadContext context, string model, YamlNode node, string path, string? apiBase,
        out string provider, out string providerModel, out bool unknownPrefix)
    {
        unknownPrefix = false;
        var slash = model.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            provider = BuiltInProviders.OpenAi.Name;
            providerModel = model;
            return true;
        }

        var prefix = model[..slash];
        provider = prefix.ToLowerInvariant();
        providerModel = model[(slash + 1)..];
        if (ProviderCatalog.IsKnown(provider))
        {
            if (providerModel.Length == 0)
            {
                context.Error(node, path, $"missing model name after '{prefix}/'");
                return false;
            }

            return true;
        }

        if (apiBase is not null)
        {
            context.Warning(node, path,
                $"unknown provider '{prefix}' in '{model}'; api_base is set, so '{model}' is sent to it as an OpenAI-compatible model");
            provider = BuiltInProviders.OpenAi.Name;
            providerModel = model;
            unknownPrefix = true;
            return true;
        }

        // LiteLLM starts with such an entry and fails only the calls to it: the deployment is kept, and its calls are
        // answered with an error naming the provider
        context.Warning(node, path,
            $"unknown provider '{prefix}' in '{model}': {CallsFail}; set api_base to call it as an OpenAI-compatible model " +
            $"(known: {string.Join(", ", ProviderCatalog.Known)})");
        unknownPrefix = true;
        return true;
    }

    private static ModelInfo ReadModelInfo(NodeConverter convert, YamlMappingNode? map, string path, out YamlNode? idNode)
    {
        idNode = null;
        if (map is null)
        {
            return ModelInfo.Empty;
        }

        var info = new MapReader(convert, map, path);
        idNode = info.Take("id");
        var id = idNode is null ? null : NullIfEmpty(convert.String(idNode, info.ChildPath("id")));
        return new ModelInfo
        {
            Id = id,
            Mode = info.String("mode"),
            BaseModel = info.String("base_model"),
            InputCostPerToken = info.Decimal("input_cost_per_token"),
            OutputCostPerToken = info.Decimal("output_cost_per_token"),
            InputCostPerQuery = info.Decimal("input_cost_per_query"),
            MaxInputTokens = info.Int("max_input_tokens"),
            MaxOutputTokens = info.Int("max_output_tokens"),
            MaxTokens = info.Int("max_tokens"),
            AccessGroups = info.StringList("access_groups") ?? [],
            Extra = info.Finish(),
        };
    }

    /// <summary>A required non-empty string: absent, empty or null values are reported as "required".</summary>
    private static (string? Value, YamlNode? Node) RequiredString(MapReader reader, string key)
    {
        var node = reader.Take(key);
        var path = reader.ChildPath(key);
        if (node is null || node is YamlScalarNode scalar && YamlScalars.IsNull(scalar))
        {
            reader.Convert.Context.Error(node ?? reader.Node, path, "required");
            return (null, node);
        }

        var value = reader.Convert.String(node, path);
        if (value is not null && string.IsNullOrWhiteSpace(value))
        {
            reader.Convert.Context.Error(node, path, "required (the value is empty)");
            return (null, node);
        }

        return (value, node);
    }

    private static void WarnIfDifferent(LoadContext context, YamlNode? topNode, string topPath, int? top, int? inParams, string key)
    {
        if (topNode is not null && top is not null && inParams is not null && top != inParams)
        {
            context.Warning(topNode, topPath, $"differs from litellm_params.{key} ({inParams}); litellm_params.{key} is used");
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
