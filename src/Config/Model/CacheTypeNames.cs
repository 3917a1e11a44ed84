using System.Collections.Frozen;

namespace Broker.Config.Model;

/// <summary>
/// The litellm_settings.cache_params.type names: the one list the loader checks against, the "not active yet" report
/// reads, and every Ingress cache backend is keyed by (a test keeps the two in step).
/// </summary>
public static class CacheTypeNames
{
    public const string Local = "local";

    public const string Redis = "redis";

    public const string S3 = "s3";

    public const string RedisSemantic = "redis-semantic";

    public const string QdrantSemantic = "qdrant-semantic";

    /// <summary>The backends Broker serves.</summary>
    public static IReadOnlyList<string> Served { get; } = [Local, Redis, S3, RedisSemantic, QdrantSemantic];

    /// <summary>Types LiteLLM knows that Broker loads without serving (the proxy runs without a response cache).</summary>
    public static IReadOnlyList<string> NotServed { get; } = ["disk", "azure-blob", "gcs"];

    /// <summary>Every type config.yaml may name without an "unknown" warning.</summary>
    public static IEnumerable<string> Known => Served.Concat(NotServed);

    /// <summary><see cref="Served"/> as a set, for lookups.</summary>
    public static FrozenSet<string> ServedSet { get; } = Served.ToFrozenSet(StringComparer.Ordinal);

    public static bool IsServed(string type) => ServedSet.Contains(type);
}
