using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Caching;

/// <summary>
/// One request's cache controls: the body's <c>cache</c> object (LiteLLM's <c>no-cache</c>, <c>no-store</c>, <c>ttl</c>,
/// <c>s-maxage</c>, <c>namespace</c>, <c>use-cache</c>) and the <c>Cache-Control</c> request header
/// (<c>no-cache</c>, <c>no-store</c>, <c>max-age=N</c>, <c>s-maxage=N</c>).
/// </summary>
public sealed record CacheControls
{
    public static readonly CacheControls None = new();

    /// <summary>Do not answer from the cache (the fresh answer is still stored).</summary>
    public bool NoCache { get; init; }

    /// <summary>Do not store this answer.</summary>
    public bool NoStore { get; init; }

    /// <summary>Opt in when cache_params.mode is default_off.</summary>
    public bool UseCache { get; init; }

    /// <summary>How long to keep this answer, instead of cache_params.ttl.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Accept only a cached answer younger than this.</summary>
    public TimeSpan? MaxAge { get; init; }

    public string? Namespace { get; init; }

    public static CacheControls From(JsonObject body, IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(headers);
        var controls = None;
        if (body["cache"] is JsonObject cache)
        {
            controls = new CacheControls
            {
                NoCache = IsTrue(cache["no-cache"]),
                NoStore = IsTrue(cache["no-store"]),
                UseCache = IsTrue(cache["use-cache"]),
                Ttl = Seconds(cache["ttl"]),
                MaxAge = Seconds(cache["s-maxage"]),
                Namespace = cache["namespace"] is JsonValue ns && ns.TryGetValue<string>(out var name) && name.Length > 0 ? name : null,
            };
        }

        foreach (var value in headers.CacheControl)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var (directive, argument) = part.IndexOf('=', StringComparison.Ordinal) is var eq and > 0
                    ? (part[..eq].Trim().ToLowerInvariant(), part[(eq + 1)..].Trim().Trim('"'))
                    : (part.ToLowerInvariant(), "");
                controls = directive switch
                {
                    "no-cache" => controls with { NoCache = true },
                    "no-store" => controls with { NoStore = true },
                    "max-age" or "s-maxage" when double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 =>
                        controls with { MaxAge = Min(controls.MaxAge, TimeSpan.FromSeconds(s)) },
                    _ => controls,
                };
            }
        }

        return controls;
    }

    private static TimeSpan? Min(TimeSpan? a, TimeSpan b) => a is { } x && x < b ? x : b;

    private static bool IsTrue(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    private static TimeSpan? Seconds(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<double>(out var s) && s >= 0 && double.IsFinite(s) ? TimeSpan.FromSeconds(s) : null;
}
