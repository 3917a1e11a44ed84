using Broker.Config.Model;
using Broker.Config.Yaml;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>litellm_settings → <see cref="LitellmSettings"/>, plus the routing keys router_settings may override.</summary>
internal static class LitellmSettingsReader
{
    public const string Section = "litellm_settings";

    /// <summary>Reads the section; <paramref name="genericCallbacks"/> are the names callback_settings declares with <c>callback_type: generic_api</c>.</summary>
    public static (LitellmSettings Settings, RoutingValues Shared) Read(NodeConverter convert, YamlNode? node, IReadOnlySet<string> genericCallbacks)
    {
        var section = new MapReader(convert, node is null ? null : convert.Map(node, Section), Section);
        var shared = RoutingKeysReader.Read(section, "request_timeout");
        var cache = section.Bool("cache") ?? false;
        var settings = new LitellmSettings
        {
            RequestTimeout = shared.Timeout,
            NumRetries = shared.NumRetries,
            ForceIpv4 = section.Bool("force_ipv4") ?? false,
            DropParams = section.Bool("drop_params") ?? false,
            Cache = cache,
            CacheParams = ReadCacheParams(section, cache),
            SuccessCallback = CallbackList(section, "success_callback", genericCallbacks),
            FailureCallback = CallbackList(section, "failure_callback", genericCallbacks),
            Callbacks = CallbackList(section, "callbacks", genericCallbacks),
            ServiceCallback = section.StringList("service_callbacks") ?? [],
            TurnOffMessageLogging = section.Bool("turn_off_message_logging") ?? false,
            RedactUserApiKeyInfo = section.Bool("redact_user_api_key_info") ?? false,
            SetVerbose = section.Bool("set_verbose") ?? false,
            JsonLogs = section.Bool("json_logs") ?? false,
            LangfuseDefaultTags = section.StringList("langfuse_default_tags") ?? [],
            LangfusePublicKey = section.Secret("langfuse_public_key"),
            LangfuseSecretKey = section.Secret("langfuse_secret_key"),
            S3CallbackParams = S3CallbackParamsReader.Read(section),
            Guardrails = GuardrailsReader.Read(section.Convert, section.Sequence("guardrails"), section.ChildPath("guardrails")),
            McpServers = McpReader.ReadServers(section),
            McpAliases = section.StringMap("mcp_aliases") ?? new Dictionary<string, string>(),
            MaxBudget = section.Decimal("max_budget"),
            BudgetDuration = section.String("budget_duration"),
        };
        return (settings with { Extra = section.Finish() }, shared);
    }

    /// <summary>A callback list; every name Broker does not act on gets a warning saying what happens instead.</summary>
    private static List<string> CallbackList(MapReader section, string key, IReadOnlySet<string> genericCallbacks)
    {
        var items = section.StringItems(key) ?? [];
        foreach (var (value, node, path) in items)
        {
            if (CallbackWarning(value, genericCallbacks) is { } warning)
            {
                section.Convert.Context.Warning(node, path, warning);
            }
        }

        return items.Select(i => i.Value).ToList();
    }

    /// <summary>What happens instead when Broker does not act on callback <paramref name="value"/>; null when it does.</summary>
    private static string? CallbackWarning(string value, IReadOnlySet<string> genericCallbacks)
    {
        var name = CallbackNames.Normalize(value);
        var known = string.Join(", ", CallbackNames.Active);
        if (genericCallbacks.Contains(name))
        {
            return null;
        }

        if (CallbackNames.Known.TryGetValue(name, out var kind))
        {
            return kind == CallbackKind.NotImplemented
                ? $"callback '{value}' is not implemented by Broker; nothing is sent there (acted on: {known})"
                : null;
        }

        return name.Contains('.', StringComparison.Ordinal)
            ? $"custom callback '{value}' is a Python object path, which a C# gateway cannot load; nothing is sent there (known: {known}; for an HTTP endpoint use callback_settings.<name> with callback_type: generic_api)"
            : $"unknown callback '{value}'; nothing is sent there (known: {known}, or a callback_settings entry with callback_type: generic_api)";
    }

    private static CacheParams? ReadCacheParams(MapReader section, bool cacheOn)
    {
        var map = section.Map("cache_params");
        if (map is null)
        {
            return null;
        }

        var convert = section.Convert;
        var r = new MapReader(convert, map, section.ChildPath("cache_params"));
        var typeNode = r.Take("type");
        var type = typeNode is null ? null : convert.String(typeNode, r.ChildPath("type"));
        if (type is not null && !CacheTypeNames.Known.Contains(type, StringComparer.Ordinal))
        {
            convert.Context.Warning(typeNode, r.ChildPath("type"),
                $"unknown cache type '{type}' (known: {string.Join(", ", CacheTypeNames.Known)}); Broker runs without a response cache");
        }
        else if (type is not null && !CacheTypeNames.IsServed(type))
        {
            convert.Context.Warning(typeNode, r.ChildPath("type"),
                $"cache type '{type}' is not served by Broker; it runs without a response cache (served: {string.Join(", ", CacheTypeNames.Served.Order(StringComparer.Ordinal))})");
        }

        var cache = new CacheParams
        {
            Type = type ?? CacheTypeNames.Local,
            Host = r.String("host"),
            Port = r.Int("port"),
            Password = r.Secret("password"),
            Namespace = r.String("namespace"),
            Ttl = r.Duration("ttl"),
            RedisStartupNodes = ReadNodes(r, "redis_startup_nodes"),
            ServiceName = r.String("service_name"),
            SentinelNodes = ReadNodes(r, "sentinel_nodes"),
            S3BucketName = r.String("s3_bucket_name"),
            S3RegionName = r.String("s3_region_name"),
            S3AwsAccessKeyId = r.Secret("s3_aws_access_key_id"),
            S3AwsSecretAccessKey = r.Secret("s3_aws_secret_access_key"),
            S3EndpointUrl = r.String("s3_endpoint_url"),
            QdrantSemanticCacheEmbeddingModel = r.String("qdrant_semantic_cache_embedding_model"),
            RedisSemanticCacheEmbeddingModel = r.String("redis_semantic_cache_embedding_model"),
            QdrantApiBase = r.String("qdrant_api_base"),
            QdrantApiKey = r.Secret("qdrant_api_key"),
            QdrantCollectionName = r.String("qdrant_collection_name"),
            SimilarityThreshold = r.Double("similarity_threshold", 0),
            SupportedCallTypes = r.StringList("supported_call_types"),
            Mode = r.String("mode"),
        };
        var context = convert.Context;
        // the same order the Ingress looks for a Redis: sentinels, cluster nodes, host, then REDIS_HOST / REDIS_URL
        if (cacheOn && cache.Type == CacheTypeNames.Redis && string.IsNullOrWhiteSpace(cache.Host) && cache.RedisStartupNodes.Count == 0 &&
            (cache.SentinelNodes.Count == 0 || string.IsNullOrEmpty(cache.ServiceName)) &&
            string.IsNullOrEmpty(context.GetEnv("REDIS_HOST")) && string.IsNullOrEmpty(context.GetEnv("REDIS_URL")))
        {
            context.Warning(map, r.Path,
                "cache type redis names no Redis (host, redis_startup_nodes, sentinel_nodes with service_name, REDIS_HOST or REDIS_URL): Broker runs without a response cache");
        }

        return cache with { Extra = r.Finish() };
    }

    /// <summary>Redis nodes as <c>host:port</c>: from <c>{host, port}</c> maps, <c>[host, port]</c> pairs or strings.</summary>
    private static List<string> ReadNodes(MapReader reader, string key)
    {
        var result = new List<string>();
        var list = reader.Sequence(key);
        if (list is null)
        {
            return result;
        }

        var convert = reader.Convert;
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = $"{reader.ChildPath(key)}[{i}]";
            switch (list.Children[i])
            {
                case YamlMappingNode map:
                    var item = new MapReader(convert, map, path);
                    var host = item.String("host");
                    var port = item.Int("port");
                    item.Finish();
                    if (host is null)
                    {
                        convert.Context.Error(map, NodeConverter.Child(path, "host"), "required");
                    }
                    else
                    {
                        result.Add(port is null ? host : $"{host}:{port}");
                    }

                    break;
                case YamlSequenceNode pair when pair.Children.Count == 2:
                    var pairHost = convert.String(pair.Children[0], $"{path}[0]");
                    var pairPort = convert.Int(pair.Children[1], $"{path}[1]");
                    if (pairHost is not null && pairPort is not null)
                    {
                        result.Add($"{pairHost}:{pairPort}");
                    }

                    break;
                case YamlScalarNode scalar when !YamlScalars.IsNull(scalar):
                    if (convert.String(scalar, path) is { } text)
                    {
                        result.Add(text);
                    }

                    break;
                default:
                    convert.Context.Error(list.Children[i], path, "expected {host, port}, [host, port] or \"host:port\"");
                    break;
            }
        }

        return result;
    }
}
