using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Copies Broker's state from an embedded SQLite file into a migrated PostgreSQL database (<c>broker migrate-db</c>):
/// every table of <see cref="StateTables.Copied"/>, each column converted by the type the PostgreSQL schema gives it
/// (timestamptz, numeric, uuid, jsonb, text[], boolean, bytea, ...), streamed with binary COPY. The source is read in one
/// read transaction (a consistent snapshot) and the target written in one transaction: a failure leaves the target as
/// it was. A target that already holds rows is refused unless <c>replace</c>, which empties the copied tables first
/// (in the same transaction).
/// </summary>
public static class StateCopier
{
    /// <summary>Rows copied into one table.</summary>
    public sealed record TableCount(string Table, long Rows);

    /// <summary>The tables of <paramref name="sqliteConnectionString"/> that migrate-db does not know (refused before anything is copied).</summary>
    public static async Task<IReadOnlyList<string>> UnknownTablesAsync(string sqliteConnectionString, CancellationToken cancellationToken)
    {
        await using var source = new SqliteConnection(sqliteConnectionString);
        await source.OpenAsync(cancellationToken).ConfigureAwait(false);
        var tables = await SqliteTablesAsync(source, null, cancellationToken).ConfigureAwait(false);
        return [.. tables.Where(t => !StateTables.Copied.Contains(t) && !StateTables.NotCopied.Contains(t)).Order(StringComparer.Ordinal)];
    }

    public static async Task<IReadOnlyList<TableCount>> CopyAsync(
        string sqliteConnectionString, NpgsqlDataSource target, bool replace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        await using var source = new SqliteConnection(sqliteConnectionString);
        await source.OpenAsync(cancellationToken).ConfigureAwait(false);
        // one read transaction: every table is read from the same snapshot
        await using var snapshot = source.BeginTransaction(deferred: true);
        var sourceTables = await SqliteTablesAsync(source, snapshot, cancellationToken).ConfigureAwait(false);
        if (sourceTables.Where(t => !StateTables.Copied.Contains(t) && !StateTables.NotCopied.Contains(t)).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } unknown)
        {
            throw new StateCopyException($"the SQLite file has table(s) migrate-db does not copy: {string.Join(", ", unknown)} (is it from a newer Broker?)");
        }

        await using var connection = await target.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var targetColumns = await PostgresColumnsAsync(connection, cancellationToken).ConfigureAwait(false);
        if (StateTables.Copied.Where(t => !targetColumns.ContainsKey(t)).ToList() is { Count: > 0 } missing)
        {
            throw new StateCopyException($"the PostgreSQL database lacks table(s) {string.Join(", ", missing)} after its migrations");
        }

        var filled = new List<string>();
        foreach (var table in StateTables.Copied)
        {
            await using var any = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {table})", connection, transaction);
            if ((bool)(await any.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                filled.Add(table);
            }
        }

        if (filled.Count > 0)
        {
            if (!replace)
            {
                throw new StateCopyException(
                    $"the PostgreSQL database already holds Broker state ({string.Join(", ", filled)}); nothing was copied. " +
                    "Use --force to empty every Broker table there first and replace it with the SQLite file's state.");
            }

            await using var truncate = new NpgsqlCommand($"TRUNCATE {string.Join(", ", StateTables.Copied)}", connection, transaction);
            await truncate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var counts = new List<TableCount>();
        foreach (var table in StateTables.Copied)
        {
            var rows = sourceTables.Contains(table)
                ? await CopyTableAsync(source, snapshot, connection, table, targetColumns[table], cancellationToken).ConfigureAwait(false)
                : 0; // a file from an older Broker without this table: nothing to copy
            counts.Add(new TableCount(table, rows));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return counts;
    }

    private static async Task<long> CopyTableAsync(
        SqliteConnection source, SqliteTransaction snapshot, NpgsqlConnection target, string table,
        IReadOnlyDictionary<string, PgColumn> targetColumns, CancellationToken cancellationToken)
    {
        var columns = new List<string>();
        await using (var info = source.CreateCommand())
        {
            info.Transaction = snapshot;
            info.CommandText = $"SELECT name FROM pragma_table_info('{table}') ORDER BY cid";
            await using var reader = await info.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                columns.Add(reader.GetString(0));
            }
        }

        if (columns.Where(c => !targetColumns.ContainsKey(c)).ToList() is { Count: > 0 } extra)
        {
            throw new StateCopyException($"{table}: the PostgreSQL table has no column(s) {string.Join(", ", extra)}");
        }

        var types = columns.Select(c => targetColumns[c]).ToList();
        await using var read = source.CreateCommand();
        read.Transaction = snapshot;
        read.CommandText = $"SELECT {string.Join(", ", columns)} FROM {table}";
        await using var rows = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var import = await target.BeginBinaryImportAsync(
            $"COPY {table} ({string.Join(", ", columns)}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        long count = 0;
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            await import.StartRowAsync(cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < columns.Count; i++)
            {
                if (rows.IsDBNull(i))
                {
                    await import.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                object value;
                try
                {
                    value = Convert(rows.GetValue(i), types[i]);
                }
                catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException or System.Text.Json.JsonException)
                {
                    throw new StateCopyException($"{table}.{columns[i]}: value '{rows.GetValue(i)}' is not a {types[i].Type} ({ex.Message})", ex);
                }

                await import.WriteAsync(value, types[i].DbType, cancellationToken).ConfigureAwait(false);
            }

            count++;
        }

        await import.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return count;
    }

    /// <summary>A SQLite value (as <see cref="SqliteValues"/> keeps PostgreSQL's types) in the column's PostgreSQL type.</summary>
    private static object Convert(object value, PgColumn column) => column.DbType switch
    {
        NpgsqlDbType.Text or NpgsqlDbType.Varchar => PgText.Clean(value as string ?? System.Convert.ToString(value, CultureInfo.InvariantCulture))!,
        NpgsqlDbType.Integer => System.Convert.ToInt32(value, CultureInfo.InvariantCulture),
        NpgsqlDbType.Bigint => System.Convert.ToInt64(value, CultureInfo.InvariantCulture),
        NpgsqlDbType.Smallint => System.Convert.ToInt16(value, CultureInfo.InvariantCulture),
        NpgsqlDbType.Double => System.Convert.ToDouble(value, CultureInfo.InvariantCulture),
        NpgsqlDbType.Real => System.Convert.ToSingle(value, CultureInfo.InvariantCulture),
        NpgsqlDbType.Numeric => value is string money ? SqliteValues.ParseMoney(money) : System.Convert.ToDecimal(value, CultureInfo.InvariantCulture),
        NpgsqlDbType.Boolean => value is string flag ? flag is "1" or "true" : System.Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0,
        NpgsqlDbType.TimestampTz => SqliteValues.ParseTime((string)value),
        NpgsqlDbType.Uuid => Guid.Parse((string)value),
        NpgsqlDbType.Jsonb or NpgsqlDbType.Json => PgText.CleanJson((string)value)!,
        NpgsqlDbType.Array | NpgsqlDbType.Text => SqliteValues.ParseArray((string)value).Select(t => PgText.Clean(t)!).ToArray(),
        NpgsqlDbType.Bytea => (byte[])value,
        _ => throw new InvalidCastException($"no conversion to {column.Type}"),
    };

    private static async Task<HashSet<string>> SqliteTablesAsync(SqliteConnection source, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = source.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'broker\\_%' ESCAPE '\\'";
        var tables = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    private static async Task<Dictionary<string, Dictionary<string, PgColumn>>> PostgresColumnsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = ANY(@tables)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string[]>("tables", [.. StateTables.Copied]));
        var tables = new Dictionary<string, Dictionary<string, PgColumn>>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var (table, column, type, udt) = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
            if (!tables.TryGetValue(table, out var columns))
            {
                tables[table] = columns = new Dictionary<string, PgColumn>(StringComparer.Ordinal);
            }

            columns[column] = new PgColumn(type == "ARRAY" ? udt[1..] + "[]" : type, DbTypeOf(type, udt));
        }

        return tables;
    }

    private static NpgsqlDbType DbTypeOf(string type, string udt) => type switch
    {
        "text" => NpgsqlDbType.Text,
        "character varying" => NpgsqlDbType.Varchar,
        "integer" => NpgsqlDbType.Integer,
        "bigint" => NpgsqlDbType.Bigint,
        "smallint" => NpgsqlDbType.Smallint,
        "double precision" => NpgsqlDbType.Double,
        "real" => NpgsqlDbType.Real,
        "numeric" => NpgsqlDbType.Numeric,
        "boolean" => NpgsqlDbType.Boolean,
        "timestamp with time zone" => NpgsqlDbType.TimestampTz,
        "uuid" => NpgsqlDbType.Uuid,
        "jsonb" => NpgsqlDbType.Jsonb,
        "json" => NpgsqlDbType.Json,
        "bytea" => NpgsqlDbType.Bytea,
        "ARRAY" when udt == "_text" => NpgsqlDbType.Array | NpgsqlDbType.Text,
        _ => NpgsqlDbType.Unknown,
    };

    private sealed record PgColumn(string Type, NpgsqlDbType DbType);
}
