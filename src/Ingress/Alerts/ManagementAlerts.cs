using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Alerts;
using Broker.Ingress.Http;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Alerts;

/// <summary>
/// LiteLLM's management alert types: a successful <c>/key</c>, <c>/team</c> or <c>/user</c> create, update or delete, and
/// a model added at run time (<c>/model/new</c>), raise <c>new_virtual_key_created</c>, <c>virtual_key_updated</c>, ...,
/// <c>new_model_added</c>. Billing delivers them like every other alert (alert_types filters them). The alert carries the
/// answer's identifying fields (key hash and alias, user, team, model), never a key itself.
/// </summary>
public static class ManagementAlerts
{
    /// <summary>Route → (alert kind, event group, what happened).</summary>
    public static FrozenDictionary<string, (string Kind, string Group, string Message)> Routes { get; } =
        new Dictionary<string, (string, string, string)>(StringComparer.OrdinalIgnoreCase)
        {
            ["/key/generate"] = ("new_virtual_key_created", "key", "Virtual key created"),
            ["/key/update"] = ("virtual_key_updated", "key", "Virtual key updated"),
            ["/key/delete"] = ("virtual_key_deleted", "key", "Virtual key deleted"),
            ["/team/new"] = ("new_team_created", "team", "Team created"),
            ["/team/update"] = ("team_updated", "team", "Team updated"),
            ["/team/delete"] = ("team_deleted", "team", "Team deleted"),
            ["/user/new"] = ("new_internal_user_created", "user", "Internal user created"),
            ["/user/update"] = ("internal_user_updated", "user", "Internal user updated"),
            ["/user/delete"] = ("internal_user_deleted", "user", "Internal user deleted"),
            ["/model/new"] = ("new_model_added", "model", "New model added"),
        }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Fields of an answer that may go into an alert (identifiers and limits; never <c>key</c>).</summary>
    private static readonly string[] Fields =
    [
        "token", "key_alias", "key_name", "user_id", "user_email", "user_role", "team_id", "team_alias", "organization_id",
        "model_name", "model_id", "max_budget", "budget_duration", "tpm_limit", "rpm_limit",
    ];

    /// <summary>Raises the alert of each successful management write in this group.</summary>
    public static RouteGroupBuilder RaiseManagementAlerts(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            var http = context.HttpContext;
            if (result is JsonTextResult ok && http.Request.Method == HttpMethods.Post &&
                Routes.TryGetValue(http.Request.Path.Value?.TrimEnd('/') ?? "", out var route))
            {
                await RaiseAsync(http, route, ok.Json);
            }

            return result;
        });
        return group;
    }

    private static async Task RaiseAsync(HttpContext http, (string Kind, string Group, string Message) route, string json)
    {
        var services = http.RequestServices;
        var data = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["event"] = route.Kind,
            ["event_group"] = route.Group,
            ["event_message"] = route.Message,
            ["changed_by"] = Auth.AuthContext.Of(http)?.Caller?.UserId ?? "proxy_admin",
        };
        try
        {
            if (JsonNode.Parse(json) is JsonObject answer)
            {
                foreach (var field in Fields)
                {
                    if (answer[field] is JsonValue value && value.GetValueKind() is JsonValueKind.String or JsonValueKind.Number)
                    {
                        data[field] = value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
                    }
                }

                // deletes answer with the list of what went: its size, not its contents (a key list may hold raw keys)
                foreach (var (name, node) in answer)
                {
                    if (name.StartsWith("deleted", StringComparison.Ordinal) && node is JsonArray deleted)
                    {
                        data["deleted_count"] = deleted.Count.ToString(CultureInfo.InvariantCulture);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // not an object: the alert goes without the answer's fields
        }

        var subject = data.GetValueOrDefault("key_alias") ?? data.GetValueOrDefault("team_alias") ?? data.GetValueOrDefault("team_id")
            ?? data.GetValueOrDefault("user_email") ?? data.GetValueOrDefault("user_id") ?? data.GetValueOrDefault("model_name");
        var time = services.GetRequiredService<TimeProvider>();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await services.GetRequiredService<IBus>().Publish(new AlertRaised
            {
                Kind = route.Kind,
                // every write is its own event
                DedupeKey = $"{route.Kind}:{Guid.NewGuid():N}",
                Level = "Low",
                Message = subject is null ? route.Message : $"{route.Message}: `{subject}`",
                RaisedAt = time.GetUtcNow(),
                Data = data,
            }, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // the write happened; a lost alert must not turn it into an error
            Log.ManagementAlertNotRaised(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ManagementAlerts)), route.Kind, ex.GetType().Name);
        }
    }
}
