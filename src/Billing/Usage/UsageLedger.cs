using System.Collections.Concurrent;
using Broker.Contracts.Usage;

namespace Broker.Billing.Usage;

/// <summary>In-process running totals per model group, until spend moves to PostgreSQL.</summary>
public sealed class UsageLedger
{
    private readonly ConcurrentDictionary<string, GroupTotals> _totals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _cacheHits = new(StringComparer.Ordinal);

    public void Add(UsageRecorded usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        _totals.AddOrUpdate(
            usage.ModelGroup,
            _ => new GroupTotals(1, usage.PromptTokens, usage.CompletionTokens),
            (_, t) => new GroupTotals(t.Requests + 1, t.PromptTokens + usage.PromptTokens, t.CompletionTokens + usage.CompletionTokens));
        if (usage.CacheHit)
        {
            // answered from the response cache: counted, but no provider was paid
            _cacheHits.AddOrUpdate(usage.ModelGroup, 1, (_, n) => n + 1);
        }
    }

    /// <summary>Requests per model group that were answered from the response cache (spend 0).</summary>
    public IReadOnlyDictionary<string, long> CacheHits() => new Dictionary<string, long>(_cacheHits, StringComparer.Ordinal);

    public IReadOnlyDictionary<string, GroupTotals> Snapshot() => new Dictionary<string, GroupTotals>(_totals, StringComparer.Ordinal);
}

public sealed record GroupTotals(long Requests, long PromptTokens, long CompletionTokens);
