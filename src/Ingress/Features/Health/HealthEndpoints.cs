using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.Ingress.Inference;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Health;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Ingress.Features.Health;

public static class HealthEndpoints
{
    /// <summary>Time allowed for each deployment's probe in <c>GET /health</c>.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string> NoHeaders = [];

    /// <summary>Liveness and readiness: open, for load balancers and Kubernetes probes.</summary>
    public static IEndpointRouteBuilder MapProbes(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // while the process drains open requests before stopping, both say so with a 503 (as LiteLLM does)
        app.MapGet("/health/liveliness", (RequestDrain drain) => drain.IsStopping ? ShuttingDown() : Results.Json("I'm alive!")).AllowAnonymous();
        app.MapGet("/health/liveness", (RequestDrain drain) => drain.IsStopping ? ShuttingDown() : Results.Json("I'm alive!")).AllowAnonymous();
        app.MapGet("/health/readiness", async (HealthCheckService health, RequestDrain drain, InstanceEndpoint instance, CancellationToken cancellationToken) =>
        {
            if (drain.IsStopping)
            {
                return ShuttingDown();
            }

            var report = await health.CheckHealthAsync(r => r.Tags.Contains("ready"), cancellationToken);
            var bus = report.Entries.Where(e => e.Key.Contains("bus", StringComparison.OrdinalIgnoreCase)).Select(e => e.Value.Status).DefaultIfEmpty(report.Status).Min();
            // no request can be carried while answers cannot come back (RabbitMQ connection down or this instance's
            // answer queue reconnecting): not ready, whatever else still works
            var carries = instance.IsReceiving && bus != HealthStatus.Unhealthy;
            var status = carries ? report.Status : HealthStatus.Unhealthy;
            var body = new JsonObject
            {
                ["status"] = status switch { HealthStatus.Healthy => "healthy", HealthStatus.Degraded => "degraded", _ => "unhealthy" },
                ["bus"] = !instance.IsReceiving ? "disconnected" : bus == HealthStatus.Healthy ? "connected" : bus.ToString().ToLowerInvariant(),
                ["db"] = State(report, "database", "connected", "Not connected"),
                ["cache"] = State(report, "cache", "connected", "unavailable"),
                ["checks"] = new JsonObject(report.Entries.Select(e =>
                    KeyValuePair.Create(e.Key, (JsonNode?)e.Value.Status.ToString().ToLowerInvariant()))),
            };
            // degraded (e.g. Redis away: limits per process; the database away with keys cached) still serves traffic
            return Results.Text(body.ToJsonString(), "application/json", statusCode: status == HealthStatus.Unhealthy ? 503 : 200);
        }).AllowAnonymous();
        return app;
    }

    private static IResult ShuttingDown() =>
        Results.Text(new JsonObject { ["status"] = "shutting_down" }.ToJsonString(), "application/json", statusCode: StatusCodes.Status503ServiceUnavailable);

    /// <summary>A check's state as the readiness body shows it: <paramref name="up"/>, <paramref name="down"/>, or null when the check does not run here.</summary>
    private static string? State(HealthReport report, string check, string up, string down) =>
        !report.Entries.TryGetValue(check, out var entry) ? null
        : entry.Status == HealthStatus.Healthy ? (entry.Description is { } d && d.StartsWith("no ", StringComparison.Ordinal) ? "not configured" : up)
        : down;

    /// <summary>
    /// <c>GET /health</c>: with background_health_checks, the latest background results (shared through Redis);
    /// otherwise (or before the first round) a one-token request to every deployment through its group's queue,
    /// unless disable_health_checks turns that off.
    /// </summary>
    public static RouteGroupBuilder MapDeploymentHealth(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/health", async (HttpContext http, IProxyConfigProvider config, InferenceClient inference, DeploymentHealthBoard board, CancellationToken cancellationToken) =>
        {
            var current = config.Current;
            if (current.GeneralSettings.BackgroundHealthChecks && await board.ReadAsync(cancellationToken) is { Count: > 0 } checks)
            {
                return Report(checks.Select(c => (c.Healthy, Entry(c.Model, c.ModelGroup, c.DeploymentId, c.ApiBase, c.Error, c.CheckedAt))).ToList(), null,
                    current.GeneralSettings.HealthCheckDetails);
            }

            if (current.GeneralSettings.DisableHealthChecks)
            {
                return Report([], "Health checks are disabled (general_settings.disable_health_checks)", true);
            }

            // probing calls every provider (unbilled): the proxy admin's to ask for, not any key's
            if (AuthContext.Of(http) is { IsAdmin: false })
            {
                return (IResult)new OpenAiErrorResult(StatusCodes.Status403Forbidden,
                    "GET /health probes every deployment: proxy admin only (the master key), or turn on general_settings.background_health_checks",
                    "auth_error", null, "403");
            }

            // LiteLLM's modes: chat and completion deployments get a one-token chat, embedding ones an embedding;
            // the rest (images, audio, rerank...) are not probed
            var probes = current.ModelGroups
                .Where(g => !g.IsWildcard)
                .SelectMany(g => g.Deployments.Where(d => d.ModelInfo.IsHealthChecked).Select(d => (Group: g, Deployment: d)))
                .Select(async x =>
                {
                    var error = await inference.ProbeAsync(x.Group, x.Deployment, ProbeTimeout, cancellationToken);
                    return (Healthy: error is null, Entry: Entry(x.Deployment.Model, x.Group.Name, x.Deployment.Id, x.Deployment.ApiBase, error, null));
                })
                .ToList();
            var results = await Task.WhenAll(probes);
            return Report(results, null, current.GeneralSettings.HealthCheckDetails);
        }).AllowAnyKey();
        return group;
    }

    private static JsonObject Entry(string model, string modelGroup, string deploymentId, string? apiBase, string? error, DateTimeOffset? checkedAt)
    {
        var entry = new JsonObject { ["model"] = model, ["model_name"] = modelGroup, ["model_id"] = deploymentId };
        if (apiBase is not null)
        {
            entry["api_base"] = apiBase;
        }

        if (error is not null)
        {
            entry["error"] = error;
        }

        if (checkedAt is { } at)
        {
            entry["last_checked"] = at.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }

        return entry;
    }

    /// <summary>The /health body; without <paramref name="details"/> (health_check_details: false) each entry keeps only its model and error.</summary>
    private static JsonTextResult Report(IReadOnlyList<(bool Healthy, JsonObject Entry)> results, string? message, bool details)
    {
        if (!details)
        {
            results = [.. results.Select(r => (r.Healthy, new JsonObject(r.Entry
                .Where(p => p.Key is "model" or "error")
                .Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())))))];
        }

        var healthy = new JsonArray(results.Where(r => r.Healthy).Select(r => (JsonNode)r.Entry).ToArray());
        var unhealthy = new JsonArray(results.Where(r => !r.Healthy).Select(r => (JsonNode)r.Entry).ToArray());
        var body = new JsonObject
        {
            ["healthy_endpoints"] = healthy,
            ["unhealthy_endpoints"] = unhealthy,
            ["healthy_count"] = healthy.Count,
            ["unhealthy_count"] = unhealthy.Count,
        };
        if (message is not null)
        {
            body["message"] = message;
        }

        return new JsonTextResult(body.ToJsonString(), NoHeaders);
    }
}
