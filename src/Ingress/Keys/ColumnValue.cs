using NpgsqlTypes;

namespace Broker.Ingress.Keys;

/// <summary>
/// A value for one column of an insert or update. <paramref name="MergeJson"/>: on an update, a JSON object merged into
/// the stored one (its top-level entries replace those of the same name, the others stay); on an insert, the value.
/// </summary>
public sealed record ColumnValue(string Column, object? Value, NpgsqlDbType Type, bool MergeJson = false);
