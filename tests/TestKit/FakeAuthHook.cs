using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.TestKit;

/// <summary>
/// A real HTTP server on 127.0.0.1 playing a custom_auth hook: records each question (its JSON body and headers)
/// and answers what <see cref="Answer"/> says, after <see cref="Delay"/>.
/// </summary>
public sealed class FakeAuthHook : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(JsonObject Body, IReadOnlyDictionary<string, string> Headers)> _questions = new();

    private FakeAuthHook(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>The answer to a question (status, JSON body); default allows with no identity.</summary>
    public Func<JsonObject, (int Status, JsonObject Body)> Answer { get; set; } = _ => (200, new JsonObject { ["allow"] = true });

    public TimeSpan Delay { get; set; }

    public IReadOnlyCollection<(JsonObject Body, IReadOnlyDictionary<string, string> Headers)> Questions => _questions;

    public static async Task<FakeAuthHook> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeAuthHook(app);
        app.MapPost("/check", fake.HandleAsync);
        await app.StartAsync();
        fake.Url = app.Urls.First().TrimEnd('/') + "/check";
        return fake;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var body = (await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted))!.AsObject();
        _questions.Enqueue((body, http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString())));
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, http.RequestAborted);
        }

        var (status, answer) = Answer(body);
        http.Response.StatusCode = status;
        await http.Response.WriteAsync(answer.ToJsonString(), http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
