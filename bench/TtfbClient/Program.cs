// Streaming time to first token, as a client sees it.
//
//   ttfb-client --url http://127.0.0.1:4000/v1/chat/completions --model fast [--n 50] [--warmup 20] [--key sk-...]
//
// Sends --warmup then --n sequential `stream: true` chat completions on one kept-alive connection and
// times, for each, from the start of the send to the first `data:` line of the body (so a gateway that
// sends headers or keep-alive comments early gets no credit for them). Every stream is read to its end.
// --key is sent as a bearer token (a virtual key). Prints one line: `ttfb_ms p50=<ms> p90=<ms> min=<ms> max=<ms> n=<n>`; exit code 1 when a request fails.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var url = new Uri(Arg("--url", "http://127.0.0.1:4000/v1/chat/completions"));
var model = Arg("--model", "fast");
var n = int.Parse(Arg("--n", "50"), CultureInfo.InvariantCulture);
var warmup = int.Parse(Arg("--warmup", "20"), CultureInfo.InvariantCulture);
var key = Arg("--key", "");
var body = $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"Say hello"}]}""";

using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 1 })
{
    Timeout = TimeSpan.FromSeconds(30),
};

var samples = new List<double>(n);
for (var i = 0; i < warmup + n; i++)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, url)
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };
    if (key.Length > 0)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }

    var sw = Stopwatch.StartNew();
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    if (!response.IsSuccessStatusCode)
    {
        await Console.Error.WriteLineAsync($"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return 1;
    }

    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
    double? first = null;
    var sawDone = false;
    while (await reader.ReadLineAsync() is { } line)
    {
        if (line.StartsWith("data:", StringComparison.Ordinal))
        {
            first ??= sw.Elapsed.TotalMilliseconds;
            sawDone |= line.Contains("[DONE]", StringComparison.Ordinal);
        }
    }

    if (first is null || !sawDone)
    {
        await Console.Error.WriteLineAsync("stream ended without data lines or without [DONE]");
        return 1;
    }

    if (i >= warmup)
    {
        samples.Add(first.Value);
    }
}

samples.Sort();
double Pct(double p) => samples[Math.Clamp((int)Math.Ceiling(p * samples.Count) - 1, 0, samples.Count - 1)];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"ttfb_ms p50={Pct(0.5):0.000} p90={Pct(0.9):0.000} min={samples[0]:0.000} max={samples[^1]:0.000} n={samples.Count}"));
return 0;
