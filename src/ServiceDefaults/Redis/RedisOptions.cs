namespace Broker.ServiceDefaults.Redis;

/// <summary>
/// Where the shared routing state lives: router_settings.redis_host/redis_port/redis_password, else REDIS_URL
/// (<c>127.0.0.1:6379</c> or <c>redis://[:password@]host:port</c>), else nowhere (each process keeps its own state).
/// </summary>
public sealed record RedisOptions
{
    /// <summary>A StackExchange.Redis configuration string, or null when no Redis is configured.</summary>
    public string? Configuration { get; init; }

    /// <summary>First part of every key (<c>broker</c>); tests give each broker its own.</summary>
    public string KeyPrefix { get; init; } = "broker";

    /// <summary>Longest wait for one Redis command before the process falls back to its own state.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>After a failed command, how long to use local state before trying Redis again.</summary>
    public TimeSpan RetryAfterFailure { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Builds the options from router_settings values and the REDIS_URL value.</summary>
    public static RedisOptions From(string? host, int? port, string? password, string? redisUrl, string? keyPrefix)
    {
        var prefix = string.IsNullOrWhiteSpace(keyPrefix) ? "broker" : keyPrefix;
        if (!string.IsNullOrWhiteSpace(host))
        {
            var configuration = $"{host}:{port ?? 6379}";
            if (!string.IsNullOrEmpty(password))
            {
                configuration += ",password=" + password;
            }

            return new RedisOptions { Configuration = configuration, KeyPrefix = prefix };
        }

        if (string.IsNullOrWhiteSpace(redisUrl))
        {
            return new RedisOptions { KeyPrefix = prefix };
        }

        if (Uri.TryCreate(redisUrl, UriKind.Absolute, out var uri) && uri.Scheme is "redis" or "rediss")
        {
            var configuration = $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}";
            var userInfo = uri.UserInfo.Split(':', 2);
            var secret = userInfo.Length == 2 ? userInfo[1] : userInfo[0];
            if (secret.Length > 0)
            {
                configuration += ",password=" + Uri.UnescapeDataString(secret);
            }

            if (userInfo.Length == 2 && userInfo[0].Length > 0)
            {
                configuration += ",user=" + Uri.UnescapeDataString(userInfo[0]);
            }

            if (uri.Scheme == "rediss")
            {
                configuration += ",ssl=true";
            }

            return new RedisOptions { Configuration = configuration, KeyPrefix = prefix };
        }

        return new RedisOptions { Configuration = redisUrl, KeyPrefix = prefix };
    }
}
