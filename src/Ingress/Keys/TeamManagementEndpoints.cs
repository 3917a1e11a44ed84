using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.ServiceDefaults.Database;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Keys;

/// <summary>LiteLLM's <c>/team/new|info|update|delete|list</c>: teams with their own models, budgets and limits.</summary>
public static class TeamManagementEndpoints
{
    public static RouteGroupBuilder MapTeamManagement(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/team/new", New).AdminOnly();
        group.MapGet("/team/info", Info).AllowAnyKey();
        group.MapPost("/team/update", Update).AdminOnly();
        group.MapPost("/team/delete", Delete).AdminOnly();
        group.MapGet("/team/list", List).AdminOnly();
        return group;
    }

    private static async Task<IResult> New(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, TimeProvider time)
    {
        var (body, refused) = await ManagementGate.ReadBodyAsync(http, config, repository);
        if (refused is not null)
        {
            return refused;
        }

        var (values, error) = FieldValues.Read(body!, FieldSpec.Team, time.GetUtcNow());
        if (error is not null)
        {
            return ManagementGate.BadRequest(error);
        }

        var teamId = body!["team_id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String ? id.GetValue<string>() : Guid.NewGuid().ToString();
        try
        {
            var team = await repository.InsertTeamAsync(teamId, values, http.RequestAborted);
            return ManagementGate.Json(IdentityJson.Team(team!));
        }
        catch (System.Data.Common.DbException ex) when (DatabaseErrors.IsUniqueViolation(ex))
        {
            return ManagementGate.BadRequest($"Team id = {teamId} already exists. Please use a different team id.");
        }
    }

    private static async Task<IResult> Info(HttpContext http, IProxyConfigProvider config, IIdentityStore repository)
    {
        if (ManagementGate.Database(repository, config) is { } noDb)
        {
            return noDb;
        }

        var auth = Auth.AuthContext.Of(http);
        var teamId = http.Request.Query["team_id"].ToString();
        if (auth is not { IsAdmin: true } && !string.Equals(auth?.Caller?.TeamId, teamId, StringComparison.Ordinal))
        {
            return ManagementGate.Admin(http)!;
        }

        if (teamId.Length == 0 || await repository.GetTeamAsync(teamId, http.RequestAborted) is not { } team)
        {
            return ManagementGate.NotFound($"Team not found, passed team_id={teamId}");
        }

        var keys = await repository.ListKeysAsync(null, teamId, null, 0, 1000, http.RequestAborted);
        return ManagementGate.Json(new JsonObject
        {
            ["team_id"] = teamId,
            ["team_info"] = IdentityJson.Team(team),
            ["keys"] = new JsonArray(keys.Select(k => (JsonNode?)IdentityJson.Key(k)).ToArray()),
        });
    }

    private static Task<IResult> Update(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes, TimeProvider time) =>
        IdentityRoutes.UpdateAsync(http, config, repository, changes, time, IdentityRepository.Teams, FieldSpec.Team,
            teamId => $"Team not found, passed team_id={teamId}",
            (teamId, team) => new JsonObject { ["team_id"] = teamId, ["data"] = IdentityJson.Team(team) });

    private static Task<IResult> Delete(HttpContext http, IProxyConfigProvider config, IIdentityStore repository, IdentityChanges changes) =>
        IdentityRoutes.DeleteWithKeysAsync(http, config, repository, changes, IdentityRepository.Teams);

    private static async Task<IResult> List(HttpContext http, IProxyConfigProvider config, IIdentityStore repository)
    {
        if ((ManagementGate.Database(repository, config) ?? ManagementGate.Admin(http)) is { } refused)
        {
            return refused;
        }

        var teams = await repository.ListTeamsAsync(http.RequestAborted);
        return ManagementGate.Json(new JsonArray(teams.Select(t => (JsonNode?)IdentityJson.Team(t)).ToArray()));
    }
}
