namespace Broker.ServiceDefaults.Database;

/// <summary>Where Broker keeps its state.</summary>
public enum DatabaseKind
{
    /// <summary>No state is kept (distributed roles without a database_url): keys, spend, files and batches are off.</summary>
    None,

    /// <summary>A PostgreSQL server (<c>database_url: postgresql://...</c>): any number of processes.</summary>
    PostgreSql,

    /// <summary>An embedded SQLite file (the default without a database_url, or <c>sqlite:///path</c>): one process only.</summary>
    Sqlite,
}
