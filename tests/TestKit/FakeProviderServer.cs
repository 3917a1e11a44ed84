using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.TestKit;

/// <summary>
/// A real HTTP server on 127.0.0.1 playing one native provider API (Gemini, Cohere, Bedrock): records every request
/// and answers with <see cref="ReplyText"/> (in <see cref="Pieces"/> when streaming), a tool call, or <see cref="Failure"/>.
/// </summary>
public abstract class FakeProviderServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<CapturedRequest> _requests = new();
    private WebApplication? _app;

    /// <summary>Base URL, e.g. http://127.0.0.1:41234.</summary>
    public string BaseUrl { get; private set; } = "";

    public IReadOnlyCollection<CapturedRequest> Requests => _requests;

    public string ReplyText { get; set; } = "Hello from the fake provider";

    /// <summary>Answer with one call of <c>get_weather</c> with <c>{"city":"Paris"}</c> instead of text.</summary>
    public bool ReplyWithToolCall { get; set; }

    /// <summary>When set, answer with this status, JSON body and headers.</summary>
    public (int Status, string Body, IReadOnlyDictionary<string, string>? Headers)? Failure { get; set; }

    /// <summary>The words of <see cref="ReplyText"/> with their spaces: what a stream sends.</summary>
    public IReadOnlyList<string> Pieces()
    {
        var words = ReplyText.Split(' ');
        return words.Select((w, i) => i < words.Length - 1 ? w + " " : w).ToList();
    }

    protected static async Task<T> StartAsync<T>(T fake)
        where T : FakeProviderServer
    {
        ArgumentNullException.ThrowIfNull(fake);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/{**path}", fake.HandleAsync);
        await app.StartAsync();
        fake._app = app;
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    /// <summary>Answers one recorded request that did not fail on purpose.</summary>
    protected abstract Task AnswerAsync(HttpContext http, CapturedRequest request);

    private async Task HandleAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "";
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var request = new CapturedRequest(http.Request.Method, raw, http.Request.Path.Value ?? "", http.Request.QueryString.Value ?? "", headers, buffer.ToArray());
        _requests.Enqueue(request);
        if (Failure is { } failure)
        {
            http.Response.StatusCode = failure.Status;
            foreach (var (name, value) in failure.Headers ?? new Dictionary<string, string>())
            {
                http.Response.Headers[name] = value;
            }

            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(failure.Body, http.RequestAborted);
            return;
        }

        await AnswerAsync(http, request);
    }

    /// <summary>Writes one server-sent event and flushes it.</summary>
    protected static async Task SendEventAsync(HttpContext http, string? eventType, string data)
    {
        ArgumentNullException.ThrowIfNull(http);
        var frame = (eventType is null ? "" : $"event: {eventType}\n") + "data: " + data + "\n\n";
        await http.Response.WriteAsync(frame, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
