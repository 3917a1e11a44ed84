namespace Broker.Config.Model;

/// <summary>
/// One <c>general_settings.pass_through_endpoints</c> entry: a route of Broker's own that is forwarded, unchanged, to
/// another service. Loaded and checked by the config loader; immutable.
/// </summary>
public sealed record PassThroughEndpoint
{
    /// <summary>path: the route on Broker, with a leading slash and no trailing one (<c>/v1/rerank</c>).</summary>
    public required string Path { get; init; }

    /// <summary>target: the absolute http(s) URL the route is forwarded to.</summary>
    public required Uri Target { get; init; }

    /// <summary>headers: added to every forwarded request (values may name <c>os.environ/NAME</c>, resolved at load); they win over the client's.</summary>
    public IReadOnlyDictionary<string, Secret> Headers { get; init; } = new Dictionary<string, Secret>();

    /// <summary>forward_headers: the client's headers go to the target too (never the credentials Broker checked).</summary>
    public bool ForwardHeaders { get; init; }

    /// <summary>include_subpath: <c>path/anything</c> is forwarded to <c>target/anything</c>; otherwise only the exact path.</summary>
    public bool IncludeSubpath { get; init; }

    /// <summary>auth: callers need a Broker key (default true in Broker); <c>auth: false</c> opens the route to anyone.</summary>
    public bool Auth { get; init; } = true;

    /// <summary>cost_per_request: USD charged to the caller for each call the target answered below 400; null = 0.</summary>
    public decimal? CostPerRequest { get; init; }

    /// <summary>methods: the HTTP methods forwarded (upper case); empty = every method.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>Whether this entry forwards <paramref name="method"/>.</summary>
    public bool Forwards(string method) =>
        Methods.Count == 0 || Methods.Contains(method, StringComparer.OrdinalIgnoreCase);

    /// <summary>Other keys of the entry, kept as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}
