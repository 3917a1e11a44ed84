using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Keys;

/// <summary>The steps <c>/user/update|delete</c> and <c>/team/update|delete</c> share: only the table, the messages and the answer differ.</summary>
internal static class IdentityRoutes
{
    /// <summary>
    /// Reads the id (<c>user_id</c>, <c>team_id</c>: the table's id column) and the fields from the body, updates the row
    /// and tells the other instances. Admin only.
    /// </summary>
    public static async Task<IResult> UpdateAsync<T>(
        HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, TimeProvider time,
        IdentityTable<T> table, IReadOnlyList<FieldSpec> fields, Func<string, string> notFound, Func<string, T, JsonNode> answer)
        where T : IdentityRecord
    {
        var (body, refused) = await ManagementGate.ReadBodyAsync(http, config, repository);
        if (refused is not null)
        {
            return refused;
        }

        if (body![table.IdColumn] is not JsonValue idNode || idNode.GetValueKind() != JsonValueKind.String)
        {
            return ManagementGate.BadRequest($"{table.IdColumn}: required");
        }

        var (values, error) = FieldValues.Read(body, fields, time.GetUtcNow());
        if (error is not null)
        {
            return ManagementGate.BadRequest(error);
        }

        var id = idNode.GetValue<string>();
        if (await repository.UpdateAsync(table, id, values, http.RequestAborted) is not { } updated)
        {
            return ManagementGate.NotFound(notFound(id));
        }

        await changes.AnnounceAsync(table.Entity, [id]);
        return ManagementGate.Json(answer(id, updated));
    }

    /// <summary>Deletes the users or teams listed in <c>user_ids</c>/<c>team_ids</c> and, as in LiteLLM, their keys. Admin only.</summary>
    public static async Task<IResult> DeleteWithKeysAsync<T>(
        HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, IdentityTable<T> table)
        where T : IdentityRecord
    {
        var (body, refused) = await ManagementGate.ReadBodyAsync(http, config, repository);
        if (refused is not null)
        {
            return refused;
        }

        var idsField = table.IdColumn + "s";
        var ids = KeyManagementEndpoints.Strings(body![idsField]);
        if (ids.Count == 0)
        {
            return ManagementGate.BadRequest($"{idsField}: pass {{\"{idsField}\": [...]}}");
        }

        var keyHashes = await repository.KeyHashesOfAsync(table, ids, http.RequestAborted);
        await repository.DeleteAsync(IdentityRepository.Keys, keyHashes, http.RequestAborted);
        var deleted = await repository.DeleteAsync(table, ids, http.RequestAborted);
        await changes.AnnounceAsync(IdentityRepository.Keys.Entity, keyHashes);
        await changes.AnnounceAsync(table.Entity, ids);
        return ManagementGate.Json(new JsonObject { [$"deleted_{table.Entity}s"] = new JsonArray(deleted.Select(d => (JsonNode?)d).ToArray()) });
    }
}
