using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Host.Tests.Caching;

/// <summary>
/// A small Qdrant on 127.0.0.1 (real HTTP, the subset of its API a semantic cache uses): collections with cosine
/// distance, point upsert, and search with a payload filter (match, range) and score_threshold.
/// </summary>
public sealed class FakeQdrant : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, (float[] Vector, JsonObject Payload)>> _collections = new();

    private FakeQdrant(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>The api-key header of every request.</summary>
    public ConcurrentQueue<string?> ApiKeys { get; } = new();

    public int PointCount(string collection) => _collections.TryGetValue(collection, out var c) ? c.Count : 0;

    public static async Task<FakeQdrant> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeQdrant(app);
        app.Use(async (http, next) =>
        {
            fake.ApiKeys.Enqueue(http.Request.Headers["api-key"].ToString());
            await next(http);
        });
        app.MapGet("/collections/{name}", (string name) =>
            fake._collections.ContainsKey(name) ? Results.Json(new { result = new { status = "green" } }) : Results.NotFound());
        app.MapPut("/collections/{name}", async (string name, HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!;
            if (body["vectors"]?["distance"]?.GetValue<string>() != "Cosine")
            {
                return Results.BadRequest();
            }

            return fake._collections.TryAdd(name, new()) ? Results.Json(new { result = true }) : Results.Conflict();
        });
        app.MapPut("/collections/{name}/points", async (string name, HttpContext http) =>
        {
            if (!fake._collections.TryGetValue(name, out var points))
            {
                return Results.NotFound();
            }

            var body = (await JsonNode.ParseAsync(http.Request.Body))!;
            foreach (var point in body["points"]!.AsArray())
            {
                points[point!["id"]!.ToString()] = (point["vector"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray(), point["payload"]!.AsObject());
            }

            return Results.Json(new { result = new { status = "completed" } });
        });
        app.MapPost("/collections/{name}/points/search", async (string name, HttpContext http) =>
        {
            if (!fake._collections.TryGetValue(name, out var points))
            {
                return Results.NotFound();
            }

            var body = (await JsonNode.ParseAsync(http.Request.Body))!;
            var query = body["vector"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
            var threshold = body["score_threshold"]?.GetValue<double>() ?? double.MinValue;
            var must = body["filter"]?["must"]?.AsArray() ?? [];
            var hits = points.Values
                .Where(p => must.All(c => Matches(p.Payload, c!.AsObject())))
                .Select(p => (Score: Cosine(query, p.Vector), p.Payload))
                .Where(p => p.Score >= threshold)
                .OrderByDescending(p => p.Score)
                .Take(body["limit"]?.GetValue<int>() ?? 10)
                .Select(p => new JsonObject { ["score"] = p.Score, ["payload"] = p.Payload.DeepClone() })
                .ToArray();
            return Results.Text(new JsonObject { ["result"] = new JsonArray(hits) }.ToJsonString(), "application/json");
        });
        await app.StartAsync();
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    private static bool Matches(JsonObject payload, JsonObject condition)
    {
        var value = payload[condition["key"]!.GetValue<string>()];
        if (condition["match"]?["value"] is { } expected)
        {
            return value?.ToJsonString() == expected.ToJsonString();
        }

        if (condition["range"] is JsonObject range && value is not null)
        {
            var v = value.GetValue<double>();
            return (range["gt"] is not { } gt || v > gt.GetValue<double>()) && (range["lt"] is not { } lt || v < lt.GetValue<double>());
        }

        return false;
    }

    private static double Cosine(float[] a, float[] b)
    {
        if (a.Length != b.Length)
        {
            return double.MinValue;
        }

        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
