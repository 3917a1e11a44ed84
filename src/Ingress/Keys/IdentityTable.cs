using System.Data.Common;

namespace Broker.Ingress.Keys;

/// <summary>
/// One of broker_keys, broker_users and broker_teams: its entity name (as announced in <see cref="IdentityChanges"/>),
/// table, id column and row reader. Lets one repository method and one route helper serve all three.
/// </summary>
public sealed record IdentityTable<T>(string Entity, string Name, string IdColumn, Func<DbDataReader, T> Read)
    where T : IdentityRecord;
