using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Contracts.Usage;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Caching;

/// <summary>
/// The Ingress's response cache: decides per request whether it applies (<see cref="Plan"/>), looks answers up
/// and stores them. Never on the failure path: every backend call is bounded by <see cref="CacheOptions.TimeoutMilliseconds"/>,
/// a failure or timeout is a miss, and after one the backend is skipped for a while (logged once, and once when it recovers).
/// </summary>
public sealed class ResponseCache
{
    private readonly ICacheStore? _store;
    private readonly CacheOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly IBus _bus;
    private readonly ILogger<ResponseCache> _logger;
    private readonly Lock _gate = new();
    private readonly CacheSettings _initial;
    private readonly Func<CacheSettings>? _live;
    private readonly TimeSpan _timeout;
    private const int TimeoutsBeforeSkipping = 3;
    private long _skipUntil;
    private int _consecutiveTimeouts;
    private bool _degraded;

    public ResponseCache(
        CacheSettings settings, ICacheStore? store, CacheOptions options, TimeProvider timeProvider, IBus bus, ILogger<ResponseCache> logger,
        Func<CacheSettings>? live = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        _initial = settings;
        _live = live;
        _store = settings.Enabled ? store : null;
        _options = options;
        _timeProvider = timeProvider;
        _bus = bus;
        _logger = logger;
        _timeout = TimeSpan.FromMilliseconds(Math.Max(1, options.TimeoutMilliseconds));
    }

    /// <summary>
    /// The settings in force: after a config reload, ttl, namespace, mode, supported_call_types and turning the cache off
    /// apply at once; the backend (cache_params.type, or turning a cache on) is chosen at start-up.
    /// </summary>
    public CacheSettings Settings => _live?.Invoke() ?? _initial;

    public ICacheStore? Store => _store;

    /// <summary>Whether any request can be cached at all (a cheap check before the request is canonicalized).</summary>
    public bool IsActive => _store is not null;

    /// <summary>
    /// The plan for one request, or null when the cache does not apply (off, call type not supported, default_off
    /// without opt-in, or neither read nor store wanted). <paramref name="clientBody"/> carries the controls,
    /// <paramref name="request"/> (the OpenAI-shaped request that goes to the queue) the key.
    /// </summary>
    public CachePlan? Plan(HttpContext http, CacheCallType callType, ModelGroup group, JsonObject clientBody, JsonObject request)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(clientBody);
        ArgumentNullException.ThrowIfNull(request);
        var settings = Settings;
        if (_store is null || !settings.Enabled || !settings.CallTypes.Contains(callType))
        {
            return null;
        }

        var controls = clientBody.ContainsKey("cache") || http.Request.Headers.CacheControl.Count > 0
            ? CacheControls.From(clientBody, http.Request.Headers)
            : CacheControls.None;
        if (settings.DefaultOff && !controls.UseCache)
        {
            return null;
        }

        if (controls.NoCache && controls.NoStore)
        {
            return null;
        }

        var keyNamespace = controls.Namespace ?? settings.Namespace;
        var key = CacheKey.Compute(callType, group.Name, request, keyNamespace);
        // a semantic cache compares prompts by meaning within one namespace, call type and model group;
        // embedding requests (and requests without text) use the exact key
        var semantic = _store is ISemanticCacheStore && callType != CacheCallType.Embedding && SemanticQuery.PromptOf(request) is { } prompt
            ? new SemanticQuery($"{keyNamespace}|{callType}|{group.Name}", prompt)
            : null;
        return new CachePlan(key, callType, group.Name, Read: !controls.NoCache, Store: !controls.NoStore,
            controls.Ttl is { } ttl && ttl > TimeSpan.Zero ? ttl : settings.Ttl, controls.MaxAge, semantic);
    }

    /// <summary>The cached answer for the plan, or null: a miss, too old for s-maxage, or the cache did not answer in time.</summary>
    public async Task<CacheEntry?> LookupAsync(CachePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!plan.Read || !Usable(out var store))
        {
            return null;
        }

        CacheEntry? entry;
        try
        {
            var lookup = plan.Semantic is { } query && store is ISemanticCacheStore semantic
                ? semantic.FindAsync(query, cancellationToken)
                : store.GetAsync(plan.Key, cancellationToken);
            entry = await lookup.WaitAsync(_timeout, _timeProvider, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Failed(store, ex);
            return null;
        }

        Succeeded(store);
        if (entry is null || (plan.MaxAge is { } maxAge && _timeProvider.GetUtcNow() - entry.StoredAt > maxAge))
        {
            return null;
        }

        return entry;
    }

    /// <summary>Stores an answer in the background (bounded in time like every cache call); the caller never waits for it.</summary>
    public void Save(CachePlan plan, string body)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(body);
        if (!plan.Store || !Usable(out var store))
        {
            return;
        }

        _ = SaveAsync(store, plan, new CacheEntry(body, _timeProvider.GetUtcNow()));
    }

    /// <summary>
    /// Publishes the usage of an answer served from the cache (spend 0, <c>CacheHit</c>), with the request's pre_call
    /// guardrail decisions, without holding up the answer.
    /// </summary>
    public void RecordHit(
        CachePlan plan, Guid requestId, JsonObject? usage, double latencyMs, Contracts.Identity.Caller? caller = null,
        IReadOnlyList<GuardrailOutcome>? guardrails = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var message = new UsageRecorded
        {
            RequestId = requestId,
            ModelGroup = plan.ModelGroup,
            DeploymentId = "cache",
            Provider = "cache",
            PromptTokens = TokenCount(usage?["prompt_tokens"]),
            CompletionTokens = TokenCount(usage?["completion_tokens"]),
            LatencyMs = latencyMs,
            Succeeded = true,
            CompletedAt = _timeProvider.GetUtcNow(),
            CacheHit = true,
            Caller = caller,
            Guardrails = guardrails,
        };
        _ = PublishAsync(message);
    }

    private async Task PublishAsync(UsageRecorded message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _timeProvider);
            await _bus.Publish(message, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.UsageNotPublished(_logger, message.RequestId, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private async Task SaveAsync(ICacheStore store, CachePlan plan, CacheEntry entry)
    {
        try
        {
            var save = plan.Semantic is { } query && store is ISemanticCacheStore semantic
                ? semantic.AddAsync(query, entry, plan.Ttl, CancellationToken.None)
                : store.SetAsync(plan.Key, entry, plan.Ttl, CancellationToken.None);
            await save.WaitAsync(_timeout, _timeProvider);
            Succeeded(store);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Failed(store, ex);
        }
    }

    private static int TokenCount(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var n) ? n : 0;

    private bool Usable(out ICacheStore store)
    {
        store = _store!;
        if (_store is null)
        {
            return false;
        }

        if (Volatile.Read(ref _degraded) && _timeProvider.GetTimestamp() < Volatile.Read(ref _skipUntil))
        {
            return false;
        }

        if (!_store.IsAvailable)
        {
            MarkDown(_store, "not connected");
            return false;
        }

        return true;
    }

    private void Succeeded(ICacheStore store)
    {
        if (Volatile.Read(ref _consecutiveTimeouts) != 0)
        {
            Volatile.Write(ref _consecutiveTimeouts, 0);
        }

        if (!Volatile.Read(ref _degraded))
        {
            return;
        }

        lock (_gate)
        {
            if (_degraded)
            {
                _degraded = false;
                Log.Recovered(_logger, store.Name);
            }
        }
    }

    private void Failed(ICacheStore store, Exception exception)
    {
        // one slow answer is only a miss; a cache that keeps timing out (or fails outright) is skipped for a while
        if (exception is TimeoutException && Interlocked.Increment(ref _consecutiveTimeouts) < TimeoutsBeforeSkipping)
        {
            return;
        }

        MarkDown(store, exception is TimeoutException
            ? $"no answer within {_timeout.TotalMilliseconds:0} ms, {TimeoutsBeforeSkipping} times in a row"
            : exception.GetType().Name + ": " + exception.Message);
    }

    private void MarkDown(ICacheStore store, string reason)
    {
        lock (_gate)
        {
            var until = _timeProvider.GetTimestamp() + (long)(_options.RetryAfterFailureSeconds * _timeProvider.TimestampFrequency);
            Volatile.Write(ref _skipUntil, until);
            if (!_degraded)
            {
                _degraded = true;
                Log.Degraded(_logger, store.Name, reason);
            }
        }
    }
}
