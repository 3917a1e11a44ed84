using Npgsql;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Turns <c>general_settings.database_url</c> (LiteLLM's <c>postgresql://user:pass@host:port/db?sslmode=...</c>, or an
/// Npgsql <c>Host=...;</c> string) into an Npgsql connection string with the pool limit and timeout applied.
/// </summary>
public static class DatabaseConnectionString
{
    public static string From(string databaseUrl, int? poolLimit, TimeSpan? connectTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseUrl);
        var builder = databaseUrl.Contains("://", StringComparison.Ordinal)
            ? FromUri(new Uri(databaseUrl))
            : new NpgsqlConnectionStringBuilder(databaseUrl);
        if (poolLimit is > 0)
        {
            builder.MaxPoolSize = poolLimit.Value;
            builder.MinPoolSize = Math.Min(builder.MinPoolSize, poolLimit.Value);
        }

        if (connectTimeout is { } t && t > TimeSpan.Zero)
        {
            builder.Timeout = Math.Max(1, (int)Math.Ceiling(t.TotalSeconds));
        }
        else if (!databaseUrl.Contains("timeout", StringComparison.OrdinalIgnoreCase))
        {
            // nothing waits a minute on a database that is not there
            builder.Timeout = 5;
        }

        builder.ApplicationName ??= "broker";
        return builder.ConnectionString;
    }

    private static NpgsqlConnectionStringBuilder FromUri(Uri uri)
    {
        if (uri.Scheme is not ("postgresql" or "postgres"))
        {
            throw new FormatException($"database_url must be a postgresql:// URL (got {uri.Scheme}://)");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Uri.UnescapeDataString(uri.Host),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : null,
        };
        if (uri.UserInfo is { Length: > 0 } userInfo)
        {
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (name.ToLowerInvariant())
            {
                case "sslmode":
                    builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                    break;
                case "connect_timeout":
                    builder.Timeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "connection_limit":
                    builder.MaxPoolSize = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                default:
                    break; // Prisma-only options (schema, pgbouncer, pool_timeout) mean nothing to Npgsql
            }
        }

        return builder;
    }
}
