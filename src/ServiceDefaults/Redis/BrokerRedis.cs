using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.ServiceDefaults.Redis;

/// <summary>
/// The process's one Redis connection for shared state, or none. Callers ask <see cref="Available"/> before each use
/// and fall back to their own in-process state when it gives null: Redis not configured, not connected, or a command
/// failed within the last few seconds. Losing Redis is logged once as a warning, getting it back once as information.
/// </summary>
public sealed class BrokerRedis(RedisOptions options, TimeProvider timeProvider, ILogger<BrokerRedis> logger) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private ConnectionMultiplexer? _connection;
    private long _downUntilTimestamp;
    private bool _degraded;

    public RedisOptions Options => options;

    public bool IsConfigured => options.Configuration is not null;

    /// <summary>Connects once (at start-up); a Redis that does not answer leaves the process on local state.</summary>
    public async Task ConnectAsync()
    {
        if (options.Configuration is null || _connection is not null)
        {
            return;
        }

        var config = ConfigurationOptions.Parse(options.Configuration);
        config.AbortOnConnectFail = false;
        // a refused connection fails at once; the handshake (several round trips) gets time on a loaded machine, where
        // 1 s was seen to mark a reachable Redis down at start
        config.ConnectTimeout = 5000;
        config.ConnectRetry = 1;
        config.AsyncTimeout = (int)Math.Max(10, options.CommandTimeout.TotalMilliseconds);
        config.SyncTimeout = config.AsyncTimeout;
        config.ClientName = "broker";
        try
        {
            _connection = await ConnectionMultiplexer.ConnectAsync(config);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ArgumentException)
        {
            MarkDown(ex.Message);
            return;
        }

        if (_connection.IsConnected)
        {
            Log.Connected(logger, Describe());
        }
        else
        {
            MarkDown("not connected");
        }
    }

    /// <summary>The database when Redis is usable now; null means "use local state".</summary>
    public IDatabase? Available()
    {
        var connection = _connection;
        if (connection is null)
        {
            return null;
        }

        if (!connection.IsConnected)
        {
            MarkDown("not connected");
            return null;
        }

        if (Volatile.Read(ref _degraded))
        {
            if (timeProvider.GetTimestamp() < Volatile.Read(ref _downUntilTimestamp))
            {
                return null;
            }

            lock (_gate)
            {
                if (_degraded)
                {
                    _degraded = false;
                    Log.Recovered(logger, Describe());
                }
            }
        }

        return connection.GetDatabase();
    }

    /// <summary>A command failed or timed out: local state for a while, one warning.</summary>
    public void ReportFailure(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        MarkDown(exception.GetType().Name + ": " + exception.Message);
    }

    private void MarkDown(string reason)
    {
        lock (_gate)
        {
            var until = timeProvider.GetTimestamp() + (long)(options.RetryAfterFailure.TotalSeconds * timeProvider.TimestampFrequency);
            Volatile.Write(ref _downUntilTimestamp, until);
            if (!_degraded)
            {
                _degraded = true;
                Log.Degraded(logger, Describe(), reason);
            }
        }
    }

    private string Describe() => (options.Configuration ?? "").Split(',')[0];

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
