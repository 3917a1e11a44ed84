namespace Broker.Workers.Retries;

/// <summary>Where <see cref="RetrySagaStore"/> keeps retry saga instances and attempt tickets.</summary>
public enum RetrySagaStoreKind
{
    /// <summary>Distributed with neither a database nor Redis: refused at start.</summary>
    None,

    /// <summary>Embedded (one process, in-memory bus): this process's memory.</summary>
    Memory,

    /// <summary>Distributed with Redis and no database_url.</summary>
    Redis,

    /// <summary>Distributed with a PostgreSQL database_url (tables broker_retry_sagas and broker_retry_attempts).</summary>
    PostgreSql,
}
