using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Faults;

/// <summary>How one request ended, as its client saw it.</summary>
public enum Outcome
{
    /// <summary>The whole answer, of this request's own prompt, from one generation.</summary>
    Ok,

    /// <summary>A stream that ended with an error event <c>stream_interrupted</c> (its worker died after text was sent).</summary>
    Interrupted,

    /// <summary>503 <c>queue_unavailable</c> (RabbitMQ unreachable), as an HTTP status or an error event.</summary>
    QueueUnavailable,

    /// <summary>502 <c>answer_lost</c>: the Ingress lost its RabbitMQ connection while the request was in flight (it may have run).</summary>
    AnswerLost,

    /// <summary>The connection broke after the request was sent (its Ingress died).</summary>
    Cut,

    /// <summary>
    /// The retry saga's store was unreachable: 503 <c>state_store_unavailable</c> (a retry or fallback could not take its
    /// ticket), or a failed attempt's own error saying no retry or fallback was tried.
    /// </summary>
    StoreUnavailable,

    /// <summary>Any other error status or error event.</summary>
    Error,

    /// <summary>No answer within the client's timeout.</summary>
    NoAnswer,

    /// <summary>A 200 whose text is incomplete or not this request's (no error said why).</summary>
    Bad,
}

/// <summary>One request of the load and everything its client saw.</summary>
public sealed class RequestRecord
{
    public required string Tag { get; init; }

    public required string Phase { get; init; }

    public required string Model { get; init; }

    public required bool Stream { get; init; }

    public required int Ingress { get; init; }

    public required DateTimeOffset Started { get; init; }

    public DateTimeOffset Ended { get; set; }

    public TimeSpan Latency => Ended - Started;

    public Outcome Outcome { get; set; }

    public int Status { get; set; }

    public string? ErrorCode { get; set; }

    public string Detail { get; set; } = "";

    /// <summary>Words of two generations in one answer.</summary>
    public bool Spliced { get; set; }

    /// <summary>Text of another request, or words of one generation sent twice.</summary>
    public bool Duplicated { get; set; }
}

/// <summary>
/// Steady load on the two Ingress processes: each client sends one request after another (streamed or not, to the
/// plain group or to the group whose deployment fails and falls back), switching to the other Ingress when its
/// connection is refused. The fake provider answers <c>{tag}/g{call}/w{i}</c> words, so a client can tell
/// whether its text is its own, complete, and from a single generation.
/// </summary>
public sealed class LoadGenerator(IReadOnlyList<int> ingressPorts, string masterKey, int words, TimeSpan clientTimeout)
{
    private readonly ConcurrentBag<RequestRecord> _records = [];
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        MaxConnectionsPerServer = 64,
        ConnectTimeout = TimeSpan.FromSeconds(3),
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    private static readonly (string Model, bool Stream)[] Kinds =
        [("chat", false), ("chat", true), ("chat", false), ("flaky", true), ("chat", true), ("chat", false), ("flaky", false), ("chat", true)];

    private int _sequence;
    private volatile string _phase = "warmup";

    public IReadOnlyCollection<RequestRecord> Records => _records;

    public HttpClient Http => _http;

    public string Phase
    {
        get => _phase;
        set => _phase = value;
    }

    /// <summary>Runs <paramref name="clients"/> client loops until <paramref name="stop"/> is cancelled; then waits for the requests in flight.</summary>
    public async Task RunAsync(int clients, CancellationToken stop)
    {
        var loops = Enumerable.Range(0, clients).Select(i => ClientLoopAsync(i, stop)).ToList();
        await Task.WhenAll(loops);
    }

    private async Task ClientLoopAsync(int client, CancellationToken stop)
    {
        // per 8 clients: plain non-streamed x3, plain streamed x3, fallback non-streamed x1, fallback streamed x1
        var (model, stream) = Kinds[client % Kinds.Length];
        var ingress = client % ingressPorts.Count;
        while (!stop.IsCancellationRequested)
        {
            var phase = _phase;
            var (record, refused) = await SendAsync($"{phase}.r{Interlocked.Increment(ref _sequence)}", phase, model, stream, ingress);
            if (refused)
            {
                // nothing reached that Ingress: not a request; go to the other one
                ingress = (ingress + 1) % ingressPorts.Count;
                await Task.Delay(100, CancellationToken.None);
                continue;
            }

            _records.Add(record!);
            ingress = (ingress + 1) % ingressPorts.Count;
            await Task.Delay(Random.Shared.Next(20, 120), CancellationToken.None);
        }
    }

    /// <summary>One request; (null, true) when the Ingress refused the connection (nothing was sent).</summary>
    public async Task<(RequestRecord? Record, bool Refused)> SendAsync(string tag, string phase, string model, bool stream, int ingress)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = tag }),
            // recorded by Billing as the spend row's end_user: ties a row to the client's request even when no answer came
            ["user"] = tag,
        };
        if (stream)
        {
            body["stream"] = true;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{ingressPorts[ingress]}/v1/chat/completions"))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer " + masterKey);
        var record = new RequestRecord { Tag = tag, Phase = phase, Model = model, Stream = stream, Ingress = ingress, Started = DateTimeOffset.UtcNow };
        using var timeout = new CancellationTokenSource(clientTimeout);
        var text = new StringBuilder();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            record.Status = (int)response.StatusCode;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var error = await response.Content.ReadAsStringAsync(timeout.Token);
                Fail(record, ErrorCodeOf(error), error);
            }
            else if (!stream)
            {
                var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token))!;
                text.Append(json["choices"]?[0]?["message"]?["content"]?.GetValue<string>());
                Judge(record, tag, text.ToString(), complete: true);
            }
            else
            {
                await ReadStreamAsync(record, tag, response, text, timeout.Token);
            }
        }
        catch (HttpRequestException ex) when (IsRefused(ex))
        {
            return (null, true);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            record.Outcome = Outcome.NoAnswer;
            record.Detail = $"no answer within {clientTimeout.TotalSeconds:0} s; text so far: {Short(text.ToString())}";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            record.Outcome = Outcome.Cut;
            record.Detail = $"{ex.GetType().Name}: {ex.Message}; text so far: {Short(text.ToString())}";
            Judge(record, tag, text.ToString(), complete: false);
        }
        catch (JsonException ex)
        {
            record.Outcome = Outcome.Bad;
            record.Detail = "unreadable answer: " + ex.Message;
        }

        record.Ended = DateTimeOffset.UtcNow;
        return (record, false);
    }

    private async Task ReadStreamAsync(RequestRecord record, string tag, HttpResponseMessage response, StringBuilder text, CancellationToken cancel)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        var done = false;
        JsonNode? error = null;
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                done = true;
                continue;
            }

            var json = JsonNode.Parse(data)!;
            if (json["error"] is not null)
            {
                error = json;
                continue;
            }

            if (json["choices"]?[0]?["delta"]?["content"] is JsonValue content)
            {
                if (error is not null)
                {
                    record.Detail += " text after the error event;";
                    record.Spliced = true;
                }

                text.Append(content.GetValue<string>());
            }
        }

        if (error is not null)
        {
            Fail(record, error["error"]?["code"]?.ToString() ?? error["error"]?["type"]?.ToString(), error.ToJsonString());
            Judge(record, tag, text.ToString(), complete: false);
            return;
        }

        Judge(record, tag, text.ToString(), complete: true);
        if (record.Outcome == Outcome.Ok && !done)
        {
            record.Outcome = Outcome.Bad;
            record.Detail = "stream ended without [DONE]";
        }
    }

    private static void Fail(RequestRecord record, string? code, string body)
    {
        record.ErrorCode = code;
        record.Outcome = code switch
        {
            "stream_interrupted" => Outcome.Interrupted,
            "queue_unavailable" => Outcome.QueueUnavailable,
            "answer_lost" => Outcome.AnswerLost,
            "state_store_unavailable" => Outcome.StoreUnavailable,
            _ when body.Contains("where retries and fallbacks keep their state, is unreachable", StringComparison.Ordinal) => Outcome.StoreUnavailable,
            _ => Outcome.Error,
        };
        record.Detail = $"{record.Status} {Short(body)}";
    }

    /// <summary>
    /// Checks the words: all this request's, all one generation, indexes 0, 1, 2, ... (a prefix when the answer ended
    /// early); a complete answer has every word. Sets <see cref="Outcome.Ok"/> or <see cref="Outcome.Bad"/> when
    /// <paramref name="complete"/>.
    /// </summary>
    private void Judge(RequestRecord record, string tag, string text, bool complete)
    {
        var found = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string? generation = null;
        var problems = new List<string>();
        for (var i = 0; i < found.Length; i++)
        {
            var parts = found[i].Split('/');
            if (parts.Length != 3 || parts[0] != tag)
            {
                record.Duplicated = true;
                problems.Add($"word {i} '{found[i]}' is not this request's");
                continue;
            }

            generation ??= parts[1];
            if (parts[1] != generation)
            {
                record.Spliced = true;
                problems.Add($"word {i} from {parts[1]} after {generation}");
            }
            else if (parts[2] != $"w{i}")
            {
                record.Duplicated = true;
                problems.Add($"word {i} is {parts[2]} of {generation}");
            }
        }

        if (complete)
        {
            record.Outcome = found.Length == words && problems.Count == 0 ? Outcome.Ok : Outcome.Bad;
            if (found.Length != words)
            {
                problems.Add($"{found.Length} of {words} words");
            }
        }

        if (problems.Count > 0)
        {
            record.Detail += " " + string.Join("; ", problems.Take(3)) + ": " + Short(text);
        }
    }

    private static string? ErrorCodeOf(string body)
    {
        try
        {
            var error = JsonNode.Parse(body)?["error"];
            return error?["code"]?.ToString() ?? error?["type"]?.ToString();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsRefused(HttpRequestException ex) =>
        ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };

    private static string Short(string text) => text.Length <= 160 ? text : text[..160] + "…";

    /// <summary>Sends requests until one of each kind succeeds through every Ingress (or the timeout passes).</summary>
    public async Task WarmUpAsync(TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        foreach (var ingress in Enumerable.Range(0, ingressPorts.Count))
        {
            foreach (var (model, stream) in new[] { ("chat", false), ("chat", true), ("flaky", false), ("flaky", true) })
            {
                while (true)
                {
                    var (record, _) = await SendAsync($"warmup.w{Interlocked.Increment(ref _sequence)}", "warmup", model, stream, ingress);
                    if (record?.Outcome == Outcome.Ok)
                    {
                        break;
                    }

                    if (waited.Elapsed > timeout)
                    {
                        throw new TimeoutException($"warm-up {model} stream={stream} via ingress {ingress}: {record?.Outcome} {record?.Detail}");
                    }

                    await Task.Delay(500);
                }
            }
        }
    }
}
