using System.Collections.Concurrent;
using Broker.Contracts.Usage;

namespace Broker.Billing.Usage;

/// <summary>In-process running totals per model group, until spend moves to PostgreSQL.</summary>
public sealed class UsageLedger
{
    private readonly ConcurrentDictionary<string, GroupTotals> _totals = new(StringComparer.Ordinal);

    public void Add(UsageRecorded usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        _totals.AddOrUpdate(
            usage.ModelGroup,
            _ => new GroupTotals(1, usage.PromptTokens, usage.CompletionTokens),
            (_, t) => new GroupTotals(t.Requests + 1, t.PromptTokens + usage.PromptTokens, t.CompletionTokens + usage.CompletionTokens));
    }

    public IReadOnlyDictionary<string, GroupTotals> Snapshot() => new Dictionary<string, GroupTotals>(_totals, StringComparer.Ordinal);
}

public sealed record GroupTotals(long Requests, long PromptTokens, long CompletionTokens);
