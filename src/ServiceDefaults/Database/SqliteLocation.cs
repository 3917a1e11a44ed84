using Microsoft.Data.Sqlite;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Where the embedded SQLite store lives: <c>sqlite:///abs/path.db</c>, <c>sqlite://relative.db</c>,
/// <c>sqlite://:memory:</c> (a private in-memory database, for tests), or a plain file path.
/// </summary>
public sealed class SqliteLocation
{
    private SqliteLocation(string connectionString, string description)
    {
        ConnectionString = connectionString;
        Description = description;
    }

    /// <summary>The default file when no database_url is set.</summary>
    public const string DefaultFile = "broker.db";

    public string ConnectionString { get; }

    /// <summary>The full file path, or <c>:memory:</c>.</summary>
    public string Description { get; }

    /// <summary>True for <c>sqlite:</c> URLs (<c>sqlite:///path</c>, <c>sqlite://:memory:</c>).</summary>
    public static bool IsSqliteUrl(string databaseUrl) =>
        databaseUrl is not null && databaseUrl.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase);

    /// <summary>The location of a <c>sqlite:</c> URL.</summary>
    public static SqliteLocation FromUrl(string databaseUrl)
    {
        var path = PathOf(databaseUrl);
        return path == ":memory:" ? Memory() : File(path);
    }

    /// <summary>The file path of a <c>sqlite:</c> URL as written (relative paths stay relative), or <c>:memory:</c>.</summary>
    public static string PathOf(string databaseUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseUrl);
        var rest = databaseUrl["sqlite:".Length..];
        // sqlite:///abs/path -> /abs/path ; sqlite://rel.db -> rel.db ; sqlite:rel.db -> rel.db
        var path = rest.StartsWith("//", StringComparison.Ordinal) ? rest[2..] : rest;
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        path = Uri.UnescapeDataString(path);
        if (path.Length == 0)
        {
            throw new FormatException("database_url sqlite:// needs a file path (sqlite:///path/broker.db) or :memory:");
        }

        return path is ":memory:" or "/:memory:" ? ":memory:" : path;
    }

    /// <summary>A file (created when missing, with its folder).</summary>
    public static SqliteLocation File(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        return new SqliteLocation(builder.ConnectionString, full);
    }

    /// <summary>A private in-memory database shared by this process's connections while the store lives.</summary>
    public static SqliteLocation Memory()
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = $"broker-{Guid.NewGuid():N}",
            Mode = SqliteOpenMode.Memory,
            Cache = SqliteCacheMode.Shared,
            DefaultTimeout = 30,
        };
        return new SqliteLocation(builder.ConnectionString, ":memory:");
    }
}
