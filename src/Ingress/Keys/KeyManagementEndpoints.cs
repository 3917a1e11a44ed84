using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.ServiceDefaults.Database;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Keys;

/// <summary>LiteLLM's <c>/key/generate|info|update|regenerate|delete|list</c>: virtual keys, stored only as their SHA-256.</summary>
public static class KeyManagementEndpoints
{
    public static RouteGroupBuilder MapKeyManagement(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/key/generate", Generate).AllowAnyKey();
        group.MapGet("/key/info", Info).AllowAnyKey();
        group.MapPost("/key/update", Update).AdminOnly();
        group.MapPost("/key/regenerate", (HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, TimeProvider time) =>
            Regenerate(http, config, repository, changes, time, null)).AdminOnly();
        group.MapPost("/key/{key}/regenerate", (string key, HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, TimeProvider time) =>
            Regenerate(http, config, repository, changes, time, key)).AdminOnly();
        group.MapPost("/key/delete", Delete).AdminOnly();
        group.MapGet("/key/list", List).AdminOnly();
        group.MapPost("/key/block", (HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes) =>
            SetBlocked(http, config, repository, changes, blocked: true)).AdminOnly();
        group.MapPost("/key/unblock", (HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes) =>
            SetBlocked(http, config, repository, changes, blocked: false)).AdminOnly();
        return group;
    }

    /// <summary><c>sk-</c> and 32 random bytes (base64url): shown once, never stored.</summary>
    public static string NewKey() =>
        "sk-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static async Task<IResult> Generate(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, TimeProvider time, ILoggerFactory loggers)
    {
        var (body, readRefused) = await ManagementGate.ReadBodyAsync(http, config, repository, adminOnly: false);
        if (readRefused is not null)
        {
            return readRefused;
        }

        if (GenerationRefusal(http, config.Current.GeneralSettings, body!) is { } refused)
        {
            return refused;
        }

        if (AuthContext.Of(http) is { IsAdmin: false, Caller.UserId: { } ownUser } && body!["team_id"] is null && body["user_id"] is null)
        {
            // a personal key made by a user's own key belongs to that user
            body["user_id"] = ownUser;
        }

        var (values, error) = FieldValues.Read(body!, FieldSpec.Key, time.GetUtcNow());
        if (error is not null)
        {
            return ManagementGate.BadRequest(error);
        }

        var teamId = body!["team_id"]?.GetValue<string>();
        if (teamId is not null && await repository.GetTeamAsync(teamId, http.RequestAborted) is null)
        {
            return ManagementGate.BadRequest($"Team not found, team_id={teamId}. Create it with /team/new first.");
        }

        var key = body["key"] is JsonValue given && given.GetValueKind() == JsonValueKind.String ? given.GetValue<string>() : NewKey();
        if (!key.StartsWith("sk-", StringComparison.Ordinal))
        {
            return ManagementGate.BadRequest("key: a custom key must start with 'sk-'");
        }

        var caller = AuthContext.Of(http);
        KeyRecord? created;
        try
        {
            created = await repository.InsertKeyAsync(AuthFilter.HashKey(key), Secret.Redact(key),
                caller?.Caller?.UserId ?? (caller?.IsAdmin == true ? "proxy_admin" : null), values, http.RequestAborted);
        }
        catch (System.Data.Common.DbException ex) when (DatabaseErrors.IsUniqueViolation(ex))
        {
            return ManagementGate.BadRequest(DatabaseErrors.UniqueIndex(ex) == "broker_keys_alias"
                ? $"Unique key aliases across all keys are required. key_alias={body["key_alias"]} already exists."
                : "This key already exists.");
        }

        Log.KeyCreated(loggers.CreateLogger("Broker.Ingress.Keys"), created!.KeyName, created.KeyAlias, created.UserId, created.TeamId);
        var json = IdentityJson.Key(created);
        json["key"] = key;
        json["token_id"] = created.TokenHash;
        return ManagementGate.Json(json);
    }

    private static async Task<IResult> Info(HttpContext http, IProxyConfigProvider config, IIdentityStore repository)
    {
        if (ManagementGate.Database(repository, config) is { } noDb)
        {
            return noDb;
        }

        var auth = AuthContext.Of(http);
        var asked = http.Request.Query["key"].ToString();
        KeyRecord? record;
        if (asked.Length == 0)
        {
            // no key named: the calling key's own info
            if (auth?.Key is null)
            {
                return ManagementGate.BadRequest("key: pass ?key=sk-... (the master key has no key info)");
            }

            record = await repository.GetKeyAsync(auth.Key.TokenHash, http.RequestAborted);
        }
        else
        {
            var hash = HashOf(asked);
            if (auth is not { IsAdmin: true } && auth?.Key?.TokenHash != hash)
            {
                return ManagementGate.Admin(http)!;
            }

            record = await repository.GetKeyAsync(hash, http.RequestAborted);
        }

        if (record is null)
        {
            return ManagementGate.NotFound("Key not found in the keys table");
        }

        return ManagementGate.Json(new JsonObject { ["key"] = asked.Length == 0 ? record.TokenHash : asked, ["info"] = IdentityJson.Key(record) });
    }

    private static Task<IResult> Update(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, TimeProvider time) =>
        UpdateKey(http, config, repository, changes, body => FieldValues.Read(body, FieldSpec.Key, time.GetUtcNow()), echoKey: true);

    /// <summary>
    /// LiteLLM's <c>/key/regenerate</c> (<c>{"key": ...}</c>) and <c>/key/{key}/regenerate</c>: the key gets a new secret
    /// (random, or the body's <c>new_key</c>) and keeps its alias, limits, budget and spend; the old one stops working
    /// on every instance. Fields of /key/update in the body are applied at the same time. Admin only.
    /// </summary>
    private static async Task<IResult> Regenerate(
        HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, TimeProvider time, string? pathKey)
    {
        JsonObject? body;
        if (pathKey is not null && http.Request.ContentLength is null or 0 && !http.Request.HasJsonContentType())
        {
            // /key/sk-.../regenerate with no body at all
            if ((ManagementGate.Database(repository, config) ?? ManagementGate.Admin(http)) is { } gate)
            {
                return gate;
            }

            body = [];
        }
        else
        {
            (body, var refused) = await ManagementGate.ReadBodyAsync(http, config, repository);
            if (refused is not null)
            {
                return refused;
            }
        }

        var old = pathKey ?? (body!["key"] is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : null);
        if (string.IsNullOrEmpty(old))
        {
            return ManagementGate.BadRequest("key: required (in the path, /key/sk-.../regenerate, or the body)");
        }

        var key = body!["new_key"] is JsonValue given && given.GetValueKind() == JsonValueKind.String ? given.GetValue<string>() : NewKey();
        if (!key.StartsWith("sk-", StringComparison.Ordinal))
        {
            return ManagementGate.BadRequest("new_key: a custom key must start with 'sk-'");
        }

        var (values, error) = FieldValues.Read(body, FieldSpec.Key, time.GetUtcNow());
        if (error is not null)
        {
            return ManagementGate.BadRequest(error);
        }

        var oldHash = HashOf(old);
        var newHash = AuthFilter.HashKey(key);
        values.Add(new ColumnValue("token_hash", newHash, NpgsqlTypes.NpgsqlDbType.Text));
        values.Add(new ColumnValue("key_name", Secret.Redact(key), NpgsqlTypes.NpgsqlDbType.Text));
        KeyRecord? updated;
        try
        {
            updated = await repository.UpdateAsync(IdentityRepository.Keys, oldHash, values, http.RequestAborted);
        }
        catch (System.Data.Common.DbException ex) when (DatabaseErrors.IsUniqueViolation(ex))
        {
            return ManagementGate.BadRequest("new_key: this key already exists.");
        }

        if (updated is null)
        {
            return ManagementGate.NotFound("Key not found in the keys table");
        }

        await changes.AnnounceAsync(IdentityRepository.Keys.Entity, [oldHash]);
        var json = IdentityJson.Key(updated);
        json["key"] = key;
        json["token_id"] = newHash;
        return ManagementGate.Json(json);
    }

    /// <summary>LiteLLM's <c>/key/block</c> and <c>/key/unblock</c>: <c>{"key": "sk-..."}</c> (or its hash).</summary>
    private static Task<IResult> SetBlocked(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, bool blocked) =>
        UpdateKey(http, config, repository, changes, _ => ([new ColumnValue("blocked", blocked, NpgsqlTypes.NpgsqlDbType.Boolean)], null), echoKey: false);

    /// <summary>
    /// The steps /key/update, /key/block and /key/unblock share: the body's <c>key</c> (the key or its hash), the columns
    /// <paramref name="readValues"/> takes from the body, the update, and the news to the other instances. Admin only.
    /// </summary>
    private static async Task<IResult> UpdateKey(
        HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes,
        Func<JsonObject, (List<ColumnValue> Values, string? Error)> readValues, bool echoKey)
    {
        var (body, refused) = await ManagementGate.ReadBodyAsync(http, config, repository);
        if (refused is not null)
        {
            return refused;
        }

        if (body!["key"] is not JsonValue keyNode || keyNode.GetValueKind() != JsonValueKind.String)
        {
            return ManagementGate.BadRequest("key: required (the key or its hash)");
        }

        var (values, error) = readValues(body);
        if (error is not null)
        {
            return ManagementGate.BadRequest(error);
        }

        var hash = HashOf(keyNode.GetValue<string>());
        if (await repository.UpdateAsync(IdentityRepository.Keys, hash, values, http.RequestAborted) is not { } updated)
        {
            return ManagementGate.NotFound("Key not found in the keys table");
        }

        await changes.AnnounceAsync(IdentityRepository.Keys.Entity, [hash]);
        var json = IdentityJson.Key(updated);
        if (echoKey)
        {
            json["key"] = keyNode.GetValue<string>();
        }

        return ManagementGate.Json(json);
    }

    private static async Task<IResult> Delete(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes)
    {
        var (body, refused) = await ManagementGate.ReadBodyAsync(http, config, repository);
        if (refused is not null)
        {
            return refused;
        }

        var hashes = Strings(body!["keys"]).Select(HashOf).ToList();
        foreach (var alias in Strings(body["key_aliases"]))
        {
            if (await repository.GetKeyByAliasAsync(alias, http.RequestAborted) is { } byAlias)
            {
                hashes.Add(byAlias.TokenHash);
            }
        }

        if (hashes.Count == 0)
        {
            return ManagementGate.BadRequest("keys: pass {\"keys\": [\"sk-...\"]} or {\"key_aliases\": [...]}");
        }

        var deleted = await repository.DeleteAsync(IdentityRepository.Keys, hashes, http.RequestAborted);
        await changes.AnnounceAsync("key", hashes);
        if (deleted.Count == 0)
        {
            return ManagementGate.NotFound("None of these keys exist");
        }

        return ManagementGate.Json(new JsonObject { ["deleted_keys"] = new JsonArray(deleted.Select(d => (JsonNode?)d).ToArray()) });
    }

    private static async Task<IResult> List(HttpContext http, IProxyConfigProvider config, IIdentityStore repository)
    {
        if ((ManagementGate.Database(repository, config) ?? ManagementGate.Admin(http)) is { } refused)
        {
            return refused;
        }

        var query = http.Request.Query;
        var size = int.TryParse(query["size"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s is > 0 and <= 100 ? s : 10;
        if (ManagementGate.Page(query["page"], size, out var page) is { } badPage)
        {
            return badPage;
        }

        var userId = Nullable(query["user_id"]);
        var teamId = Nullable(query["team_id"]);
        var alias = Nullable(query["key_alias"]);
        var full = string.Equals(query["return_full_object"], "true", StringComparison.OrdinalIgnoreCase);
        var keys = await repository.ListKeysAsync(userId, teamId, alias, (page - 1) * size, size, http.RequestAborted);
        var total = await repository.CountKeysAsync(userId, teamId, alias, http.RequestAborted);
        return ManagementGate.Json(new JsonObject
        {
            ["keys"] = new JsonArray(keys.Select(k => full ? (JsonNode)IdentityJson.Key(k) : JsonValue.Create(k.TokenHash)).ToArray()),
            ["total_count"] = total,
            ["current_page"] = page,
            ["total_pages"] = (total + size - 1) / size,
        });
    }

    /// <summary>
    /// A non-admin caller may create keys only as <c>key_generation_settings</c> allows: <c>personal_key_generation</c>
    /// (<c>allowed_user_roles</c>) or <c>team_key_generation</c> (a key of the caller's own team). Both name
    /// <c>required_params</c> every such key must carry (the proxy admin is not bound by them).
    /// </summary>
    private static OpenAiErrorResult? GenerationRefusal(HttpContext http, GeneralSettings general, JsonObject body)
    {
        var auth = AuthContext.Of(http);
        var teamKey = body["team_id"] is not null;
        var rules = general.KeyGenerationSettings.TryGetValue(teamKey ? "team_key_generation" : "personal_key_generation", out var r)
            ? r as IReadOnlyDictionary<string, object?> ?? r as Dictionary<string, object?>
            : null;
        if (auth is { IsAdmin: true })
        {
            return null;
        }

        if (rules is null || auth?.Caller is not { } caller)
        {
            return ManagementGate.Admin(http);
        }

        if (rules.TryGetValue("required_params", out var required) && required is IEnumerable<object?> names)
        {
            foreach (var name in names.OfType<string>())
            {
                if (body[name] is null)
                {
                    return ManagementGate.BadRequest($"Required param {name} not in request body (key_generation_settings.{(teamKey ? "team" : "personal")}_key_generation.required_params)");
                }
            }
        }

        if (teamKey)
        {
            return string.Equals(body["team_id"]?.ToString(), caller.TeamId, StringComparison.Ordinal)
                ? null
                : ManagementGate.Admin(http);
        }

        var roles = rules.TryGetValue("allowed_user_roles", out var allowed) && allowed is IEnumerable<object?> list
            ? list.OfType<string>().ToList()
            : [];
        return auth.User is { } user && roles.Contains(user.UserRole, StringComparer.Ordinal) &&
               (body["user_id"] is null || string.Equals(body["user_id"]?.ToString(), user.UserId, StringComparison.Ordinal))
            ? null
            : ManagementGate.Admin(http);
    }

    /// <summary>A key (<c>sk-...</c>) is hashed; anything else is taken as the hash already (LiteLLM accepts both).</summary>
    public static string HashOf(string keyOrHash)
    {
        ArgumentNullException.ThrowIfNull(keyOrHash);
        return keyOrHash.StartsWith("sk-", StringComparison.Ordinal) ? AuthFilter.HashKey(keyOrHash) : keyOrHash;
    }

    internal static List<string> Strings(JsonNode? node) =>
        node is JsonArray array
            ? array.Where(i => i is JsonValue v && v.GetValueKind() == JsonValueKind.String).Select(i => i!.GetValue<string>()).ToList()
            : [];

    private static string? Nullable(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
