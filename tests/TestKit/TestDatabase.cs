using Npgsql;

namespace Broker.TestKit;

/// <summary>
/// A PostgreSQL database of a test's own on the local server (<c>PG_URL</c> from scripts/services.sh), created empty
/// and dropped on dispose, so tests running at once never see each other's keys or spend. Fails loudly when the
/// server cannot be reached.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _adminConnection;

    private TestDatabase(string adminConnection, string name, string url, string connectionString)
    {
        _adminConnection = adminConnection;
        Name = name;
        Url = url;
        ConnectionString = connectionString;
    }

    /// <summary>The database name (<c>broker_t_…</c>).</summary>
    public string Name { get; }

    /// <summary><c>postgresql://…</c>, as general_settings.database_url takes it.</summary>
    public string Url { get; }

    /// <summary>The same as an Npgsql connection string.</summary>
    public string ConnectionString { get; }

    public static string ServerUrl =>
        Environment.GetEnvironmentVariable("PG_URL") is { Length: > 0 } url ? url : "postgresql://broker:broker@127.0.0.1:5432/broker";

    public static async Task<TestDatabase> CreateAsync()
    {
        var server = new Uri(ServerUrl);
        var user = Uri.UnescapeDataString(server.UserInfo.Split(':')[0]);
        var password = Uri.UnescapeDataString(server.UserInfo.Split(':').ElementAtOrDefault(1) ?? "");
        var port = server.Port > 0 ? server.Port : 5432;
        var admin = new NpgsqlConnectionStringBuilder
        {
            Host = server.Host, Port = port, Username = user, Password = password,
            Database = server.AbsolutePath.Trim('/'), Timeout = 10, Pooling = false,
        }.ConnectionString;
        var name = $"broker_t_{Guid.NewGuid():N}";
        try
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException ex)
        {
            throw new InvalidOperationException(
                $"PostgreSQL at {server.Host}:{port} is not usable ({ex.Message}); run scripts/services.sh (./test.sh does) first", ex);
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true }.ConnectionString;
        return new TestDatabase(admin, name, $"postgresql://{server.UserInfo}@{server.Host}:{port}/{name}", connectionString);
    }

    public async Task<T?> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = new NpgsqlConnection(_adminConnection);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // a test that stopped the server leaves its database behind; the next services run does not mind
        }
    }
}
