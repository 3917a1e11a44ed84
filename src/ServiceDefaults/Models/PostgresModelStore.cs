using Broker.Config.Model;
using Broker.ServiceDefaults.Database;
using Npgsql;
using NpgsqlTypes;

namespace Broker.ServiceDefaults.Models;

/// <summary>Runtime models in PostgreSQL (<c>broker_models</c>, JSON as jsonb).</summary>
public sealed class PostgresModelStore(BrokerDatabase database, TimeProvider time) : IModelStore
{
    private const string Columns = "id, model_name, litellm_params::text, model_info::text, created_by, created_at, updated_at";

    public async Task<IReadOnlyList<StoredModel>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM broker_models ORDER BY created_at, id");
        return await ReadAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredModel?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM broker_models WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (await ReadAsync(command, cancellationToken).ConfigureAwait(false)).FirstOrNull();
    }

    public async Task<StoredModel> InsertAsync(RuntimeModelEntry entry, string? createdBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var now = time.GetUtcNow();
        await using var command = database.DataSource.CreateCommand(
            $"INSERT INTO broker_models (id, model_name, litellm_params, model_info, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {Columns}");
        command.Parameters.Add(new NpgsqlParameter { Value = entry.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.Clean(entry.ModelName) });
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.CleanJson(entry.LitellmParams), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.CleanJson(entry.ModelInfo), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)createdBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return (await ReadAsync(command, cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<StoredModel?> UpdateAsync(RuntimeModelEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var command = database.DataSource.CreateCommand(
            $"UPDATE broker_models SET model_name = $2, litellm_params = $3, model_info = $4, updated_at = $5 WHERE id = $1 RETURNING {Columns}");
        command.Parameters.Add(new NpgsqlParameter { Value = entry.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.Clean(entry.ModelName) });
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.CleanJson(entry.LitellmParams), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.CleanJson(entry.ModelInfo), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return (await ReadAsync(command, cancellationToken).ConfigureAwait(false)).FirstOrNull();
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("DELETE FROM broker_models WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private static async Task<List<StoredModel>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
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
                CreatedBy = reader.IsDBNull(4) ? null : reader.GetString(4),
                CreatedAt = reader.GetFieldValue<DateTimeOffset>(5),
                UpdatedAt = reader.GetFieldValue<DateTimeOffset>(6),
            });
        }

        return result;
    }
}
