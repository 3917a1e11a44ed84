using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Loading;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Models;

/// <summary>
/// LiteLLM's model management: <c>POST /model/new</c>, <c>POST /model/update</c>, <c>PATCH /model/{id}/update</c>,
/// <c>POST /model/delete</c> (runtime models, kept in the state store with <c>general_settings.store_model_in_db: true</c>;
/// config.yaml's models are read-only) and <c>GET /model/info</c> (every deployment, from config.yaml and the store, and
/// <c>runtime_models: {enabled, refusal}</c>: whether those writes are open here, and why not).
/// All proxy admin only. Writes are refused (400) while store_model_in_db is off.
/// </summary>
public static class ModelManagementEndpoints
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    public static RouteGroupBuilder MapModelManagement(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/model/info", Info).AdminOnly();
        group.MapGet("/v1/model/info", Info).AdminOnly();
        group.MapPost("/model/new", New).AdminOnly();
        group.MapPost("/model/update", (HttpContext http, IProxyConfigProvider config, RuntimeModels models, IModelStore store, ModelChanges changes) =>
            Update(http, config, models, store, changes, null)).AdminOnly();
        group.MapPatch("/model/{id}/update", (string id, HttpContext http, IProxyConfigProvider config, RuntimeModels models, IModelStore store, ModelChanges changes) =>
            Update(http, config, models, store, changes, id)).AdminOnly();
        group.MapPost("/model/delete", Delete).AdminOnly();
        return group;
    }

    private static async Task<IResult> Info(HttpContext http, IProxyConfigProvider config, RuntimeModels models, IModelStore store)
    {
        var current = config.Current;
        var stored = models.Enabled
            ? (await store.ListAsync(http.RequestAborted)).ToDictionary(m => m.Entry.Id, StringComparer.Ordinal)
            : [];
        var only = http.Request.Query["litellm_model_id"].ToString();
        var data = new JsonArray();
        foreach (var d in current.ModelList)
        {
            if (only.Length == 0 || only == d.Id)
            {
                data.Add(ModelJson.Of(d, d.DbModel ? stored.GetValueOrDefault(d.Id) : null));
            }
        }

        // stored models that do not load now (an os.environ variable gone) are listed too, so they can be fixed
        var loaded = current.ModelList.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var s in stored.Values.Where(s => !loaded.Contains(s.Entry.Id) && (only.Length == 0 || only == s.Entry.Id)))
        {
            data.Add(ModelJson.OfUnloaded(s));
        }

        // beyond LiteLLM's shape: whether /model/new|update|delete are open here (the admin UI shows its forms by it)
        return Json(new JsonObject
        {
            ["data"] = data,
            ["runtime_models"] = new JsonObject { ["enabled"] = models.WriteRefusal is null, ["refusal"] = models.WriteRefusal },
        });
    }

    private static async Task<IResult> New(HttpContext http, IProxyConfigProvider config, RuntimeModels models, IModelStore store, ModelChanges changes)
    {
        var (body, refused) = await ReadWriteBodyAsync(http, config, models);
        if (refused is not null)
        {
            return refused;
        }

        if (body!["model_name"] is not JsonValue nameValue || nameValue.GetValueKind() != JsonValueKind.String ||
            string.IsNullOrWhiteSpace(nameValue.GetValue<string>()))
        {
            return Bad("model_name: required (a non-empty string)", "model_name");
        }

        if (body["litellm_params"] is not JsonObject litellmParams)
        {
            return Bad("litellm_params: required (an object with at least model)", "litellm_params");
        }

        if (body["model_info"] is not (null or JsonObject))
        {
            return Bad("model_info: expected an object", "model_info");
        }

        var info = (JsonObject?)body["model_info"]?.DeepClone() ?? [];
        var id = info["id"] is JsonValue idValue && idValue.GetValueKind() == JsonValueKind.String && idValue.GetValue<string>() is { Length: > 0 } givenId
            ? givenId
            : Guid.NewGuid().ToString();
        info.Remove("id");
        var entry = new RuntimeModelEntry
        {
            Id = id,
            ModelName = nameValue.GetValue<string>(),
            LitellmParams = litellmParams.ToJsonString(),
            ModelInfo = info.ToJsonString(),
        };
        if (models.FileConfig.ModelList.Any(d => d.Id == id))
        {
            return Bad($"model_info.id: '{id}' is the id of a model in config.yaml; choose another id", "model_info.id");
        }

        if (Invalid(entry, models) is { } invalid)
        {
            return invalid;
        }

        StoredModel created;
        try
        {
            created = await store.InsertAsync(entry, CreatedBy(http), http.RequestAborted);
        }
        catch (System.Data.Common.DbException ex) when (DatabaseErrors.IsUniqueViolation(ex))
        {
            return Bad($"model_info.id: a model with id '{id}' already exists; use /model/update to change it", "model_info.id");
        }

        await changes.AnnounceAsync("created", [id], CancellationToken.None);
        return Written(config, created);
    }

    private static async Task<IResult> Update(
        HttpContext http, IProxyConfigProvider config, RuntimeModels models, IModelStore store, ModelChanges changes, string? routeId)
    {
        var (body, refused) = await ReadWriteBodyAsync(http, config, models);
        if (refused is not null)
        {
            return refused;
        }

        var givenInfo = body!["model_info"] as JsonObject;
        if (body["model_info"] is not (null or JsonObject) || body["litellm_params"] is not (null or JsonObject))
        {
            return Bad("litellm_params and model_info: expected objects");
        }

        var id = routeId ?? (givenInfo?["id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null);
        if (string.IsNullOrEmpty(id))
        {
            return Bad("model_info.id: required (the id of the model to update)", "model_info.id");
        }

        if (models.FileConfig.ModelList.Any(d => d.Id == id))
        {
            return Bad($"model '{id}' is defined in config.yaml, which is read-only at run time; edit the file to change it", "model_info.id");
        }

        var existing = await store.GetAsync(id, http.RequestAborted);
        if (existing is null)
        {
            return NotFound(id);
        }

        // LiteLLM's merge: the given litellm_params and model_info keys replace the stored ones (null removes a key)
        var litellmParams = Merge(JsonNode.Parse(existing.Entry.LitellmParams) as JsonObject ?? [], body["litellm_params"] as JsonObject);
        var info = Merge(JsonNode.Parse(existing.Entry.ModelInfo) as JsonObject ?? [], givenInfo);
        info.Remove("id");
        string name;
        if (body["model_name"] is null)
        {
            name = existing.Entry.ModelName;
        }
        else if (body["model_name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String && n.GetValue<string>() is { Length: > 0 } given)
        {
            name = given;
        }
        else
        {
            return Bad("model_name: expected a non-empty string", "model_name");
        }

        var entry = new RuntimeModelEntry { Id = id, ModelName = name, LitellmParams = litellmParams.ToJsonString(), ModelInfo = info.ToJsonString() };
        if (Invalid(entry, models) is { } invalid)
        {
            return invalid;
        }

        var updated = await store.UpdateAsync(entry, http.RequestAborted);
        if (updated is null)
        {
            return NotFound(id);
        }

        await changes.AnnounceAsync("updated", [id], CancellationToken.None);
        return Written(config, updated);
    }

    private static async Task<IResult> Delete(HttpContext http, IProxyConfigProvider config, RuntimeModels models, IModelStore store, ModelChanges changes)
    {
        var (body, refused) = await ReadWriteBodyAsync(http, config, models);
        if (refused is not null)
        {
            return refused;
        }

        if (body!["id"] is not JsonValue v || v.GetValueKind() != JsonValueKind.String || v.GetValue<string>() is not { Length: > 0 } id)
        {
            return Bad("id: required (the model_info.id of the model to delete)", "id");
        }

        if (models.FileConfig.ModelList.Any(d => d.Id == id))
        {
            return Bad($"model '{id}' is defined in config.yaml, which is read-only at run time; edit the file to remove it", "id");
        }

        if (!await store.DeleteAsync(id, http.RequestAborted))
        {
            return NotFound(id);
        }

        await changes.AnnounceAsync("deleted", [id], CancellationToken.None);
        return Json(new JsonObject { ["message"] = $"Model: {id} deleted successfully" });
    }

    /// <summary>The gate of every write: store_model_in_db on with a store, a master key set, the admin calling; then the JSON body.</summary>
    private static async Task<(JsonObject? Body, IResult? Refused)> ReadWriteBodyAsync(HttpContext http, IProxyConfigProvider config, RuntimeModels models)
    {
        if (models.WriteRefusal is { } refusal)
        {
            return (null, new OpenAiErrorResult(StatusCodes.Status400BadRequest, refusal, "invalid_request_error", null, "store_model_in_db_disabled"));
        }

        if (config.Current.GeneralSettings.MasterKey is null)
        {
            return (null, new OpenAiErrorResult(StatusCodes.Status400BadRequest,
                "Master key is not set. Set general_settings.master_key (or LITELLM_MASTER_KEY) to manage models.", "invalid_request_error", null, "no_master_key"));
        }

        if (AuthContext.Of(http) is not { IsAdmin: true })
        {
            return (null, new OpenAiErrorResult(StatusCodes.Status401Unauthorized,
                $"Authentication Error - only the proxy admin can call {http.Request.Path}. Use the master key.", "auth_error", null, "401"));
        }

        var (body, _, error) = await JsonBodyReader.ReadAsync(http, config);
        return (body, error);
    }

    private static OpenAiErrorResult? Invalid(RuntimeModelEntry entry, RuntimeModels models)
    {
        var errors = RuntimeModelReader.Validate(entry, models.FileConfig, models.GetEnvironmentVariable);
        return errors.Count == 0 ? null : Bad("Invalid model: " + string.Join("; ", errors), "litellm_params");
    }

    private static JsonObject Merge(JsonObject stored, JsonObject? given)
    {
        var result = (JsonObject)stored.DeepClone();
        foreach (var (key, value) in given ?? [])
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = value.DeepClone();
            }
        }

        return result;
    }

    private static string? CreatedBy(HttpContext http) => AuthContext.Of(http)?.Caller?.UserId ?? "proxy_admin";

    /// <summary>What a write answers: the model as /model/info shows it (secrets redacted), with <c>model_id</c>.</summary>
    private static JsonTextResult Written(IProxyConfigProvider config, StoredModel stored)
    {
        var deployment = config.Current.ModelList.FirstOrDefault(d => d.Id == stored.Entry.Id);
        var json = deployment is not null ? ModelJson.Of(deployment, stored) : ModelJson.OfUnloaded(stored);
        json["model_id"] = stored.Entry.Id;
        return Json(json);
    }

    private static OpenAiErrorResult Bad(string message, string? param = null) =>
        OpenAiErrorResult.BadRequest(message, param, "invalid_model");

    private static OpenAiErrorResult NotFound(string id) =>
        new(StatusCodes.Status404NotFound, $"Model with id={id} not found", "invalid_request_error", "id", "model_not_found");

    private static JsonTextResult Json(JsonNode node) => new(node.ToJsonString(), NoHeaders);
}
