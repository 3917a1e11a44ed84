namespace Broker.Workers.Retries;

/// <summary>
/// The store of attempt tickets (PostgreSQL or Redis) could not be reached, after a few short tries, while a worker took
/// or committed an attempt's ticket: the attempt neither ran nor answered. <see cref="AttemptStoreFailureAnswer"/>
/// answers its client.
/// </summary>
public sealed class AttemptTicketUnavailableException(string message, Exception inner) : Exception(message, inner)
{
    /// <summary>
    /// A failure to reach the store, not a fault of the store's data or schema: a lost or refused connection, a timeout,
    /// PostgreSQL shutting down or refusing connections.
    /// </summary>
    public static bool IsUnreachable(Exception exception) => exception switch
    {
        Npgsql.PostgresException pg => pg.IsTransient || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("08", StringComparison.Ordinal),
        Npgsql.NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException,
        StackExchange.Redis.RedisConnectionException or StackExchange.Redis.RedisTimeoutException or TimeoutException => true,
        _ => false,
    };
}
