using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Host.Tests.Guardrails;

/// <summary>
/// Lakera Guard (<c>/v2/guard</c>), Presidio's analyzer and anonymizer (<c>/analyze</c>, <c>/anonymize</c>) and a LiteLLM
/// generic guardrail API (<c>/beta/litellm_basic_guardrail_api</c>) on one real HTTP server on 127.0.0.1, recording what they got.
/// </summary>
public sealed class FakeGuardrailServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeGuardrailServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public ConcurrentQueue<(string Path, string? Authorization, JsonObject Body)> Requests { get; } = new();

    /// <summary>Lakera: flags a text containing this.</summary>
    public string LakeraFlags { get; set; } = "EVIL";

    /// <summary>Presidio: the name its analyzer finds (as PERSON).</summary>
    public string PresidioPerson { get; set; } = "John Smith";

    /// <summary>Generic API: the answer for a request body (default NONE).</summary>
    public Func<JsonObject, JsonObject> Generic { get; set; } = _ => new JsonObject { ["action"] = "NONE" };

    /// <summary>Generic API: held this long before answering.</summary>
    public TimeSpan GenericDelay { get; set; }

    public static async Task<FakeGuardrailServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeGuardrailServer(app);
        app.MapPost("/{**path}", async (HttpContext http) => await (await fake.HandleAsync(http)).ExecuteAsync(http));
        await app.StartAsync();
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    public IEnumerable<JsonObject> BodiesAt(string path) => Requests.Where(r => r.Path == path).Select(r => r.Body);

    private async Task<IResult> HandleAsync(HttpContext http)
    {
        var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject ?? [];
        var path = http.Request.Path.Value ?? "";
        Requests.Enqueue((path, http.Request.Headers.Authorization.ToString(), body));
        switch (path)
        {
            case "/v2/guard":
                var flagged = body["messages"]!.AsArray().Any(m => m!["content"]!.GetValue<string>().Contains(LakeraFlags, StringComparison.Ordinal));
                return Results.Json(new JsonObject { ["flagged"] = flagged, ["metadata"] = new JsonObject { ["request_uuid"] = "r-1" } });
            case "/analyze":
                var text = body["text"]!.GetValue<string>();
                var results = new JsonArray();
                var at = text.IndexOf(PresidioPerson, StringComparison.Ordinal);
                while (at >= 0)
                {
                    results.Add(new JsonObject { ["entity_type"] = "PERSON", ["start"] = at, ["end"] = at + PresidioPerson.Length, ["score"] = 0.85 });
                    at = text.IndexOf(PresidioPerson, at + PresidioPerson.Length, StringComparison.Ordinal);
                }

                return Results.Json(results);
            case "/anonymize":
                var original = body["text"]!.GetValue<string>();
                var output = new System.Text.StringBuilder();
                var items = new JsonArray();
                var from = 0;
                foreach (var r in body["analyzer_results"]!.AsArray().OrderBy(r => r!["start"]!.GetValue<int>()))
                {
                    var start = r!["start"]!.GetValue<int>();
                    output.Append(original, from, start - from);
                    items.Add(new JsonObject
                    {
                        ["start"] = output.Length, ["end"] = output.Length + "<PERSON>".Length, ["entity_type"] = "PERSON", ["text"] = "<PERSON>", ["operator"] = "replace",
                    });
                    output.Append("<PERSON>");
                    from = r["end"]!.GetValue<int>();
                }

                output.Append(original, from, original.Length - from);
                return Results.Json(new JsonObject { ["text"] = output.ToString(), ["items"] = items });
            case "/beta/litellm_basic_guardrail_api":
                if (GenericDelay > TimeSpan.Zero)
                {
                    await Task.Delay(GenericDelay, http.RequestAborted);
                }

                return Results.Json(Generic(body));
            default:
                return Results.NotFound();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
