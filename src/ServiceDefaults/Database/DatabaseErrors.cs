using System.Net.Sockets;
using Npgsql;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Which database failures pass by themselves (retry the same work later) and which are the data's fault (retrying
/// the same rows fails the same way: set them aside).
/// </summary>
public static class DatabaseErrors
{
    /// <summary>A unique constraint refused the row (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY).</summary>
    public static bool IsUniqueViolation(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState == PostgresErrorCodes.UniqueViolation,
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteErrorCode == 19 && sqlite.SqliteExtendedErrorCode is 2067 or 1555,
        _ => false,
    };

    /// <summary>
    /// The unique index a <see cref="IsUniqueViolation"/> error names (PostgreSQL's constraint name; for SQLite the
    /// index on those columns, e.g. <c>broker_keys_alias</c>), or null when it is the primary key or unknown.
    /// </summary>
    public static string? UniqueIndex(Exception exception) => exception switch
    {
        PostgresException pg => pg.ConstraintName,
        Microsoft.Data.Sqlite.SqliteException sqlite when sqlite.Message.Contains("broker_keys.key_alias", StringComparison.Ordinal) => "broker_keys_alias",
        _ => null,
    };

    /// <summary>
    /// The server is unreachable, restarting, overloaded or timed out (SQLSTATE classes 08, 53, 57P, 58, serialization
    /// failures and deadlocks), or the connection broke: nothing about the rows.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal) ||
            pg.SqlState.StartsWith("53", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) ||
            pg.SqlState.StartsWith("58", StringComparison.Ordinal) || pg.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected,
        NpgsqlException => true,
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another connection held the write lock past busy_timeout
        Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 5 or 6 } => true,
        TimeoutException or SocketException or IOException => true,
        // Npgsql's own state errors when a connection dies mid-command
        InvalidOperationException { Source: "Npgsql" } => true,
        _ => false,
    };
}
