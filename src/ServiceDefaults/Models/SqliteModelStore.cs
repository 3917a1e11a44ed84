using Broker.Config.Model;
using Broker.ServiceDefaults.Database;
using Microsoft.Data.Sqlite;

namespace Broker.ServiceDefaults.Models;

/// <summary>Runtime models in the embedded SQLite file (<c>broker_models</c>, JSON as text).</summary>
public sealed class SqliteModelStore(BrokerDatabase database, TimeProvider time) : IModelStore
{
    private const string Columns = "id, model_name, litellm_params, model_info, created_by, created_at, updated_at";

    public async Task<IReadOnlyList<StoredModel>> ListAsync(CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {Columns} FROM broker_models ORDER BY created_at, id", [], cancellationToken).ConfigureAwait(false);

    public async Task<StoredModel?> GetAsync(string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {Columns} FROM broker_models WHERE id = $p0", [id], cancellationToken).ConfigureAwait(false)).FirstOrNull();

    public async Task<StoredModel> InsertAsync(RuntimeModelEntry entry, string? createdBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var now = SqliteValues.Time(time.GetUtcNow());
        return (await QueryAsync(
            $"INSERT INTO broker_models (id, model_name, litellm_params, model_info, created_by, created_at, updated_at) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p5) RETURNING {Columns}",
            [entry.Id, entry.ModelName, entry.LitellmParams, entry.ModelInfo, createdBy, now], cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<StoredModel?> UpdateAsync(RuntimeModelEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return (await QueryAsync(
            $"UPDATE broker_models SET model_name = $p1, litellm_params = $p2, model_info = $p3, updated_at = $p4 WHERE id = $p0 RETURNING {Columns}",
            [entry.Id, entry.ModelName, entry.LitellmParams, entry.ModelInfo, SqliteValues.Time(time.GetUtcNow())], cancellationToken).ConfigureAwait(false)).FirstOrNull();
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, "DELETE FROM broker_models WHERE id = $p0", [id]);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<List<StoredModel>> QueryAsync(string sql, object?[] values, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, sql, values);
        var result = new List<StoredModel>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new StoredModel
            {
                Entry = new RuntimeModelEntry
                {
                    Id = reader.GetString(0),
                    ModelName = reader.GetString(1),
                    LitellmParams = reader.GetString(2),
                    ModelInfo = reader.GetString(3),
                },
                CreatedBy = SqliteValues.Text(reader, 4),
                CreatedAt = SqliteValues.ParseTime(reader.GetString(5)),
                UpdatedAt = SqliteValues.ParseTime(reader.GetString(6)),
            });
        }

        return result;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, object?[] values)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters.AddWithValue("$p" + i, values[i] ?? DBNull.Value);
        }

        return command;
    }
}
