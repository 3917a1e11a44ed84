using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Broker.ServiceDefaults.Database;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using NpgsqlTypes;

namespace Broker.Ingress.Keys;

/// <summary>LiteLLM's <c>/user/new|info|update|delete|list</c>. Like LiteLLM, <c>/user/new</c> also creates a key for the user.</summary>
public static class UserManagementEndpoints
{
    public static RouteGroupBuilder MapUserManagement(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/user/new", New).AdminOnly();
        group.MapGet("/user/info", Info).AllowAnyKey();
        group.MapPost("/user/update", Update).AdminOnly();
        group.MapPost("/user/delete", Delete).AdminOnly();
        group.MapGet("/user/list", List).AdminOnly();
        return group;
    }

    private static async Task<IResult> New(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, TimeProvider time)
    {
        var (body, refused) = await ManagementGate.ReadBodyAsync(http, config, repository);
        if (refused is not null)
        {
            return refused;
        }

        var (values, error) = FieldValues.Read(body!, FieldSpec.User, time.GetUtcNow());
        if (error is not null)
        {
            return ManagementGate.BadRequest(error);
        }

        var userId = body!["user_id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String ? id.GetValue<string>() : Guid.NewGuid().ToString();
        UserRecord user;
        try
        {
            user = (await repository.InsertUserAsync(userId, values, http.RequestAborted))!;
        }
        catch (System.Data.Common.DbException ex) when (DatabaseErrors.IsUniqueViolation(ex))
        {
            return ManagementGate.BadRequest($"User with id={userId} already exists");
        }

        var json = IdentityJson.User(user);
        var autoCreate = body["auto_create_key"] is not JsonValue a || a.GetValueKind() != JsonValueKind.False;
        if (autoCreate)
        {
            var key = KeyManagementEndpoints.NewKey();
            var keyValues = new List<ColumnValue>
            {
                new("user_id", userId, NpgsqlDbType.Text),
                new("models", user.Models.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text),
            };
            var (extra, keyError) = FieldValues.Read(body, FieldSpec.Key.Where(f => f.Name is "key_alias" or "duration" or "metadata" or "aliases").ToList(), time.GetUtcNow());
            if (keyError is not null)
            {
                return ManagementGate.BadRequest(keyError);
            }

            keyValues.AddRange(extra);
            var created = await repository.InsertKeyAsync(AuthFilter.HashKey(key), Secret.Redact(key), "proxy_admin", keyValues, http.RequestAborted);
            json["key"] = key;
            json["token"] = created!.TokenHash;
            json["expires"] = IdentityJson.Key(created)["expires"]?.DeepClone();
        }

        return ManagementGate.Json(json);
    }

    private static async Task<IResult> Info(HttpContext http, IProxyConfigProvider config, IIdentityStore repository)
    {
        if (ManagementGate.Database(repository, config) is { } noDb)
        {
            return noDb;
        }

        var auth = AuthContext.Of(http);
        var userId = http.Request.Query["user_id"].ToString();
        if (userId.Length == 0)
        {
            userId = auth?.Caller?.UserId ?? "";
        }

        if (auth is not { IsAdmin: true } && !string.Equals(auth?.Caller?.UserId, userId, StringComparison.Ordinal))
        {
            return ManagementGate.Admin(http)!;
        }

        if (userId.Length == 0 || await repository.GetUserAsync(userId, http.RequestAborted) is not { } user)
        {
            return ManagementGate.NotFound($"User not found, user_id={userId}");
        }

        var keys = await repository.ListKeysAsync(userId, null, null, 0, 1000, http.RequestAborted);
        var teams = new JsonArray();
        foreach (var teamId in user.Teams)
        {
            if (await repository.GetTeamAsync(teamId, http.RequestAborted) is { } team)
            {
                teams.Add(IdentityJson.Team(team));
            }
        }

        return ManagementGate.Json(new JsonObject
        {
            ["user_id"] = userId,
            ["user_info"] = IdentityJson.User(user),
            ["keys"] = new JsonArray(keys.Select(k => (JsonNode?)IdentityJson.Key(k)).ToArray()),
            ["teams"] = teams,
        });
    }

    private static Task<IResult> Update(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, TimeProvider time) =>
        IdentityRoutes.UpdateAsync(http, config, repository, changes, time, IdentityRepository.Users, FieldSpec.User,
            userId => $"User not found, user_id={userId}",
            (_, user) => IdentityJson.User(user));

    private static Task<IResult> Delete(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes) =>
        IdentityRoutes.DeleteWithKeysAsync(http, config, repository, changes, IdentityRepository.Users);

    private static async Task<IResult> List(HttpContext http, IProxyConfigProvider config, IIdentityStore repository)
    {
        if ((ManagementGate.Database(repository, config) ?? ManagementGate.Admin(http)) is { } refused)
        {
            return refused;
        }

        var query = http.Request.Query;
        var size = int.TryParse(query["page_size"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s is > 0 and <= 100 ? s : 25;
        if (ManagementGate.Page(query["page"], size, out var page) is { } badPage)
        {
            return badPage;
        }

        var users = await repository.ListUsersAsync((page - 1) * size, size, http.RequestAborted);
        return ManagementGate.Json(new JsonObject
        {
            ["users"] = new JsonArray(users.Select(u => (JsonNode?)IdentityJson.User(u)).ToArray()),
            ["page"] = page,
            ["page_size"] = size,
        });
    }
}
