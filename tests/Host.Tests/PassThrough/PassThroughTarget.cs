using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Host.Tests.PassThrough;

/// <summary>One request the target took: method, path and query as sent, headers (lower-case names), body.</summary>
internal sealed record TargetRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>
/// A real HTTP server on 127.0.0.1 that plays a pass-through target: takes any method and path, records the request
/// and answers 201 with <c>x-target: yes</c> and <c>{"echo": body, "path": ...}</c>. <c>/events</c> answers an SSE stream
/// whose second event waits for <see cref="ReleaseStream"/>; <c>/held</c> answers after <see cref="ReleaseHeld"/>; <c>/slow</c> answers after <see cref="SlowFor"/>.
/// </summary>
internal sealed class PassThroughTarget : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<TargetRequest> _requests = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _releaseHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PassThroughTarget(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public IReadOnlyList<TargetRequest> Requests => _requests.ToList();

    public TimeSpan SlowFor { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>True once the SSE stream has ended (its last event sent).</summary>
    public bool StreamEnded { get; private set; }

    public void ReleaseStream() => _release.TrySetResult();

    /// <summary>Lets the answers of <c>/held</c> requests go.</summary>
    public void ReleaseHeld() => _releaseHeld.TrySetResult();

    public static async Task<PassThroughTarget> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var target = new PassThroughTarget(app);
        app.Run(target.HandleAsync);
        await app.StartAsync();
        target.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return target;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var path = http.Request.Path.Value ?? "/";
        _requests.Enqueue(new TargetRequest(http.Request.Method, path, http.Request.QueryString.Value ?? "", headers, body));
        if (path.EndsWith("/events", StringComparison.Ordinal))
        {
            http.Response.ContentType = "text/event-stream";
            await http.Response.WriteAsync("data: one\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await _release.Task.WaitAsync(TimeSpan.FromSeconds(60), http.RequestAborted);
            await http.Response.WriteAsync("data: two\n\n", http.RequestAborted);
            StreamEnded = true;
            return;
        }

        if (path.EndsWith("/held", StringComparison.Ordinal))
        {
            await _releaseHeld.Task.WaitAsync(TimeSpan.FromSeconds(60), http.RequestAborted);
        }

        if (path.EndsWith("/slow", StringComparison.Ordinal))
        {
            await Task.Delay(SlowFor, http.RequestAborted);
        }

        http.Response.StatusCode = StatusCodes.Status201Created;
        http.Response.Headers["x-target"] = "yes";
        http.Response.Headers["x-litellm-response-cost"] = "999";
        await http.Response.WriteAsJsonAsync(new { echo = body, path, method = http.Request.Method }, http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        _releaseHeld.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
