using Broker.Contracts.Identity;
using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Database;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.TestKit;

/// <summary>Spend events and a migrated database for the tests of the spend path (Billing's and the end-to-end ones).</summary>
public static class SpendSamples
{
    /// <summary>A finished request's usage event with <paramref name="cost"/>, charged to the given caller.</summary>
    public static UsageRecorded Usage(decimal cost, string? key = "k1", string? user = null, string? team = null, Guid? id = null,
        string? endUser = null, IReadOnlyList<string>? tags = null, bool succeeded = true) => new()
    {
        RequestId = id ?? Guid.NewGuid(),
        ModelGroup = "gpt-4o",
        DeploymentId = "d1",
        Provider = "openai",
        PromptTokens = 10,
        CompletionTokens = 5,
        LatencyMs = 12.5,
        Succeeded = succeeded,
        CompletedAt = DateTimeOffset.UtcNow,
        Cost = cost,
        Caller = new Caller { KeyHash = key, UserId = user, TeamId = team, EndUser = endUser, Tags = tags ?? [] },
    };

    /// <summary>Broker's schema applied to <paramref name="db"/>, as every role's start applies it.</summary>
    public static async Task<BrokerDatabase> MigratedAsync(TestDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        var database = new BrokerDatabase(db.ConnectionString);
        await new DatabaseMigrator(database, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateAsync(CancellationToken.None);
        return database;
    }
}
