namespace Broker.Ingress.Keys;

/// <summary>What a cached lookup found: the record (null = no such row), or that the database could not be asked.</summary>
public readonly record struct Lookup<T>(T? Record, bool DatabaseDown, bool Stale)
    where T : class;
