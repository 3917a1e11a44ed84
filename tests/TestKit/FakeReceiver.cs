using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.TestKit;

/// <summary>One request a <see cref="FakeReceiver"/> took: path, headers (lower-case names) and body (gunzipped).</summary>
public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body, int Status);

/// <summary>
/// A real HTTP server on 127.0.0.1 that plays an outside receiver (Slack webhook, generic webhook, Langfuse, Datadog,
/// OpenMeter, Sentry): records every request and answers 200 (<c>{"ok":true}</c>), or <see cref="FailFirst"/> times 500 first.
/// </summary>
public sealed class FakeReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private int _seen;

    private FakeReceiver(WebApplication app) => _app = app;

    /// <summary>Base URL, e.g. http://127.0.0.1:41234 (no trailing slash).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Answer the first this many requests with 500.</summary>
    public int FailFirst { get; set; }

    /// <summary>Every request, failed ones included, in arrival order.</summary>
    public IReadOnlyList<ReceivedRequest> All => _requests.ToList();

    /// <summary>The requests answered 2xx.</summary>
    public IReadOnlyList<ReceivedRequest> Accepted => _requests.Where(r => r.Status < 300).ToList();

    public static async Task<FakeReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeReceiver(app);
        app.Map("/{**path}", fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return fake;
    }

    /// <summary>Waits until <paramref name="condition"/> holds over the accepted requests (generous deadline), else fails.</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(Func<IReadOnlyList<ReceivedRequest>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var accepted = Accepted;
            if (condition(accepted))
            {
                return accepted;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"the fake receiver did not get what was expected; it got {_requests.Count} request(s):\n" +
                    string.Join("\n", _requests.Select(r => $"{r.Status} {r.Method} {r.Path} {r.Body}")));
            }

            await Task.Delay(100);
        }
    }

    private async Task HandleAsync(HttpContext http)
    {
        Stream body = http.Request.Body;
        if (http.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            body = new GZipStream(body, CompressionMode.Decompress);
        }

        using var reader = new StreamReader(body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        var status = Interlocked.Increment(ref _seen) <= FailFirst ? 500 : 200;
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        _requests.Enqueue(new ReceivedRequest(http.Request.Method, http.Request.Path.Value ?? "", headers, text, status));
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(status == 200 ? "{\"ok\":true,\"id\":\"" + Guid.NewGuid().ToString("N") + "\"}" : "{\"error\":\"down\"}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
