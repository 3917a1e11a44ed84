using Broker.Config.Model;

namespace Broker.Ingress.Caching;

/// <summary>litellm_settings.cache / cache_params as the Ingress applies them.</summary>
public sealed record CacheSettings
{
    /// <summary>LiteLLM's in-memory default; also used for Redis when cache_params.ttl is not set, so entries never live forever.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromSeconds(600);

    /// <summary>cache: true with a backend this release serves (<see cref="CacheBackends"/>).</summary>
    public bool Enabled { get; init; }

    /// <summary>cache_params.type as configured (local, redis, s3, ...).</summary>
    public string Type { get; init; } = CacheTypeNames.Local;

    public string? Namespace { get; init; }

    public TimeSpan Ttl { get; init; } = DefaultTtl;

    /// <summary>mode: default_off — only requests that send <c>cache: {"use-cache": true}</c> are cached.</summary>
    public bool DefaultOff { get; init; }

    public IReadOnlySet<CacheCallType> CallTypes { get; init; } = AllCallTypes;

    private static readonly HashSet<CacheCallType> AllCallTypes = [.. Enum.GetValues<CacheCallType>()];

    public static CacheSettings From(LitellmSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var p = settings.CacheParams ?? new CacheParams();
        // absent: every call type; an empty list caches nothing, as in LiteLLM
        var types = p.SupportedCallTypes is null
            ? AllCallTypes
            : p.SupportedCallTypes.Select(CallTypeOf).OfType<CacheCallType>().ToHashSet();
        return new CacheSettings
        {
            Enabled = settings.Cache && CacheBackends.Find(p.Type) is not null,
            Type = p.Type,
            Namespace = string.IsNullOrWhiteSpace(p.Namespace) ? null : p.Namespace,
            Ttl = p.Ttl is { } ttl && ttl > TimeSpan.Zero ? ttl : DefaultTtl,
            DefaultOff = string.Equals(p.Mode, "default_off", StringComparison.OrdinalIgnoreCase),
            CallTypes = types,
        };
    }

    /// <summary>LiteLLM's call type names (sync and async spellings); others (transcription, rerank, ...) name no route here.</summary>
    public static CacheCallType? CallTypeOf(string name) => name switch
    {
        "completion" or "acompletion" => CacheCallType.Chat,
        "text_completion" or "atext_completion" => CacheCallType.TextCompletion,
        "embedding" or "aembedding" => CacheCallType.Embedding,
        "responses" or "aresponses" => CacheCallType.Responses,
        "anthropic_messages" or "aanthropic_messages" => CacheCallType.Messages,
        _ => null,
    };
}
