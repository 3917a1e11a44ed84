using Broker.Contracts.Identity;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Keys;

/// <summary>After a management write: this instance drops its copies at once, and every other instance hears of it over the bus.</summary>
public sealed class IdentityChanges(IdentityCache cache, IBus bus, ILogger<IdentityChanges> logger)
{
    public async Task AnnounceAsync(string entityType, IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return;
        }

        await cache.InvalidateAsync(entityType, ids);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await bus.Publish(new IdentityChanged { EntityType = entityType, EntityIds = ids }, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.NotAnnounced(logger, entityType, ex.GetType().Name);
        }
    }

    /// <summary>Another instance (or this one) changed these entities.</summary>
    public async Task ApplyAsync(IdentityChanged change)
    {
        ArgumentNullException.ThrowIfNull(change);
        await cache.InvalidateAsync(change.EntityType, change.EntityIds);
        Log.Invalidated(logger, change.EntityType, change.EntityIds.Count);
    }
}
