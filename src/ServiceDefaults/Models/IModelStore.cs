using Broker.Config.Model;

namespace Broker.ServiceDefaults.Models;

/// <summary>One runtime model as kept in the state store.</summary>
public sealed record StoredModel
{
    public required RuntimeModelEntry Entry { get; init; }

    /// <summary>Who added it (<c>proxy_admin</c>, or the admin JWT's user).</summary>
    public string? CreatedBy { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>
/// The runtime models (<c>general_settings.store_model_in_db</c>): in PostgreSQL (<see cref="PostgresModelStore"/>) or the
/// embedded SQLite file (<see cref="SqliteModelStore"/>), one behaviour checked by one contract test suite.
/// </summary>
public interface IModelStore
{
    /// <summary>Every stored model, oldest first.</summary>
    Task<IReadOnlyList<StoredModel>> ListAsync(CancellationToken cancellationToken);

    Task<StoredModel?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Adds a model; a DbException that is a unique violation when the id is taken.</summary>
    Task<StoredModel> InsertAsync(RuntimeModelEntry entry, string? createdBy, CancellationToken cancellationToken);

    /// <summary>Replaces a model's name, params and info; null when no model has the id.</summary>
    Task<StoredModel?> UpdateAsync(RuntimeModelEntry entry, CancellationToken cancellationToken);

    /// <summary>False when no model has the id.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);
}

internal static class StoredModelRows
{
    /// <summary>The first row, or null when there is none (a RETURNING that matched nothing).</summary>
    public static StoredModel? FirstOrNull(this List<StoredModel> rows) => rows.Count > 0 ? rows[0] : null;
}
