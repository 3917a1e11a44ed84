using NpgsqlTypes;

namespace Broker.Ingress.Keys;

/// <summary>A value for one column of an insert or update.</summary>
public sealed record ColumnValue(string Column, object? Value, NpgsqlDbType Type);
